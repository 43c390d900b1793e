// Prints deploy/prometheus/rules.yaml as a PrometheusRule (the Prometheus Operator's object),
// the rules unchanged: deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml.
//   node tests/deploy/prometheusrule.mjs > deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { YAML } from "./modules.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const rules = YAML.parse(fs.readFileSync(path.join(root, "deploy/prometheus/rules.yaml"), "utf8"));
const object = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "looker-segment-relay" },
    spec: { groups: rules.groups },
};
process.stdout.write(
    "# Generated from deploy/prometheus/rules.yaml by tests/deploy/prometheusrule.mjs: edit that file,\n" +
        "# not this one (scripts/check-deploy.sh fails when they differ).\n" +
        YAML.stringify(object, { lineWidth: 0 }),
);
