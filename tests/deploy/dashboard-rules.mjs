// Prints a Prometheus recording-rules file holding every query of a Grafana dashboard, for
// `promtool check rules` (scripts/check-deploy.sh): a query that does not parse, or a panel
// without queries, fails the check. Grafana's variables are replaced by values PromQL accepts:
// $__rate_interval, $__interval and $__range by 5m, any other $var by ".*" (they are used in
// regex matchers only). The variables' own label_values(...) queries are checked as well.
//   node tests/deploy/dashboard-rules.mjs deploy/grafana/looker-segment-relay.json > rules.yaml
import fs from "node:fs";
import { YAML } from "./modules.mjs";

const file = process.argv[2];
const dashboard = JSON.parse(fs.readFileSync(file, "utf8"));
const problems = [];
const rules = [];

function promql(expr) {
    return expr.replace(/\$\{?(\w+)(?::\w+)?\}?/g, (_, name) => (name.startsWith("__") ? "5m" : ".*"));
}

function panelsOf(list) {
    return (list ?? []).flatMap((p) => [p, ...panelsOf(p.panels)]);
}

for (const panel of panelsOf(dashboard.panels)) {
    if (panel.type === "row" || panel.type === "text") continue;
    const where = `panel ${panel.id} "${panel.title}"`;
    if (panel.datasource?.uid !== "${datasource}") problems.push(`${where}: datasource is not \${datasource}`);
    const targets = panel.targets ?? [];
    if (targets.length === 0) problems.push(`${where}: no query`);
    for (const t of targets) {
        if (!t.expr) {
            problems.push(`${where} ${t.refId}: no expr`);
            continue;
        }
        rules.push({ record: `dashboard:panel_${panel.id}_${t.refId.toLowerCase()}`, expr: promql(t.expr) });
    }
}
for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q ?? "");
    if (!m) {
        problems.push(`variable ${v.name}: query is not label_values(<selector>, <label>)`);
        continue;
    }
    rules.push({ record: `dashboard:variable_${v.name}`, expr: promql(m[1]) });
}
if (problems.length) {
    for (const p of problems) console.error(`${file}: ${p}`);
    process.exit(1);
}
process.stdout.write(YAML.stringify({ groups: [{ name: "dashboard-queries", rules }] }, { lineWidth: 0 }));
