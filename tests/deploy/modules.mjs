// The npm packages of package.json, installed by scripts/check-deploy.sh into a cache
// directory (LSR_DEPLOY_NPM_DIR), outside the repository.
import { createRequire } from "node:module";
import path from "node:path";

const dir = process.env.LSR_DEPLOY_NPM_DIR;
if (!dir) {
    console.error("LSR_DEPLOY_NPM_DIR is not set: run scripts/check-deploy.sh");
    process.exit(2);
}
export const require = createRequire(path.join(path.resolve(dir), "index.js"));
export const YAML = require("yaml");
