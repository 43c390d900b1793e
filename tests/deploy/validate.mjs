// Validates every object of the given multi-document YAML files ("-" = stdin) against the
// Kubernetes API schemas (npm kubernetes-models) and the Prometheus Operator's CRDs
// (@kubernetes-models/prometheus-operator), offline, and looks for field names the API does not
// declare (fields.mjs). Exit 1 when any object is invalid or has
// no known schema, printing one line per problem.
//   node tests/deploy/validate.mjs rendered.yaml...
import fs from "node:fs";
import { unknownFields } from "./fields.mjs";
import { require, YAML } from "./modules.mjs";

// apiVersion group -> package holding its models ("" = the core group, apiVersion "v1").
const packages = {
    "": "kubernetes-models",
    apps: "kubernetes-models",
    batch: "kubernetes-models",
    policy: "kubernetes-models",
    autoscaling: "kubernetes-models",
    "networking.k8s.io": "kubernetes-models",
    "rbac.authorization.k8s.io": "kubernetes-models",
    "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

function modelOf(apiVersion, kind) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const pkg = packages[group];
    if (!pkg) throw new Error(`no schema known for apiVersion ${apiVersion}`);
    const module = [pkg, group, version, kind].filter(Boolean).join("/");
    let file;
    try {
        file = require.resolve(module);
    } catch {
        throw new Error(`no schema known for ${kind} in ${apiVersion}`);
    }
    return { Model: require(module)[kind], file };
}

let objects = 0;
let problems = 0;
const seen = new Set();
for (const file of process.argv.slice(2)) {
    const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    for (const doc of YAML.parseAllDocuments(text)) {
        if (doc.errors.length) {
            console.error(`${file}: YAML: ${doc.errors[0].message}`);
            problems++;
            continue;
        }
        const obj = doc.toJS();
        if (obj === null || obj === undefined) continue;
        objects++;
        const where = `${file}: ${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
        try {
            if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string")
                throw new Error("apiVersion and kind are required");
            if (!obj.metadata?.name) throw new Error("metadata.name is required");
            const key = `${obj.apiVersion} ${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
            if (seen.has(key)) throw new Error("defined twice");
            seen.add(key);
            const { Model, file: modelFile } = modelOf(obj.apiVersion, obj.kind);
            new Model(obj).validate();
            const unknown = unknownFields(obj, modelFile);
            if (unknown.length) throw new Error(`data${unknown.join(", data")}`);
        } catch (e) {
            console.error(`${where}: ${e.message}`);
            problems++;
        }
    }
}
console.log(`${objects} objects checked, ${problems} invalid`);
process.exit(problems === 0 && objects > 0 ? 0 : 1);
