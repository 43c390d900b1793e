// Unknown field names: the schemas of kubernetes-models check types, required fields and
// formats, but accept any extra property, so a misspelt field (`readinesProbe`) would pass
// (and be dropped, or refused by the API server). This walks an object along the models' type
// declarations (the .d.ts file next to each model, and the files they import) and reports
// every property that is not declared. Where a type cannot be followed (an alias, a union),
// nothing below it is checked.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

// A small reader of the declarations' type syntax:
//   T := { members } | { [key: string]: T; } | Array<T> | Name | anything else (a leaf)
function parseType(src, pos) {
    const skip = () => {
        while (pos.i < src.length && /\s/.test(src[pos.i])) pos.i++;
    };
    skip();
    let type;
    if (src.startsWith("Array<", pos.i)) {
        pos.i += 6;
        const of = parseType(src, pos);
        skip();
        pos.i++; // >
        type = { kind: "array", of };
    } else if (src[pos.i] === "{") {
        pos.i++;
        skip();
        if (src.startsWith("[key: string]:", pos.i)) {
            pos.i += 14;
            const of = parseType(src, pos);
            skip();
            if (src[pos.i] === ";") pos.i++;
            skip();
            pos.i++; // }
            type = { kind: "map", of };
        } else {
            type = { kind: "object", props: parseMembers(src, pos, "}") };
            pos.i++; // }
        }
    } else {
        const m = /^[^;{}<>]*/.exec(src.slice(pos.i));
        pos.i += m[0].length;
        const text = m[0].trim();
        type = /^\w+$/.test(text) ? { kind: "ref", name: text } : { kind: "leaf" };
    }
    skip();
    if (src[pos.i] === "|") {
        // A union: not followed. Skip to the end of the member.
        let depth = 0;
        while (pos.i < src.length) {
            const c = src[pos.i];
            if (c === "{" || c === "<") depth++;
            else if (c === "}" || c === ">") {
                if (depth === 0) break;
                depth--;
            } else if (c === ";" && depth === 0) break;
            pos.i++;
        }
        return { kind: "leaf" };
    }
    return type;
}

function parseMembers(src, pos, end) {
    const props = new Map();
    for (;;) {
        while (pos.i < src.length && /\s/.test(src[pos.i])) pos.i++;
        if (pos.i >= src.length || src[pos.i] === end) return props;
        const m = /^"([^"]+)"\??:/.exec(src.slice(pos.i));
        if (!m) throw new Error(`cannot read the declarations at: ${src.slice(pos.i, pos.i + 40)}`);
        pos.i += m[0].length;
        props.set(m[1], parseType(src, pos));
        while (pos.i < src.length && /\s/.test(src[pos.i])) pos.i++;
        if (src[pos.i] === ";") pos.i++;
    }
}

const cache = new Map();

// The first interface a .d.ts file declares, as { type, imports }, or null.
function declaration(file) {
    if (cache.has(file)) return cache.get(file);
    let result = null;
    if (fs.existsSync(file)) {
        const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
        const imports = new Map();
        const req = createRequire(file);
        for (const m of text.matchAll(/^import \{ ([\w, ]+) \} from "([^"]+)";$/gm)) {
            const from = m[2];
            if (from.startsWith("@kubernetes-models/base")) continue;
            let target;
            try {
                target = (from.startsWith(".") ? path.resolve(path.dirname(file), from) : req.resolve(from))
                    .replace(/\.(m?js)$/, "") + ".d.ts";
            } catch {
                continue; // not resolvable: left unchecked
            }
            for (const name of m[1].split(",")) imports.set(name.trim(), target);
        }
        const start = /^export interface \w+[^{\n]*\{/m.exec(text);
        if (start) {
            const pos = { i: start.index + start[0].length };
            result = { type: { kind: "object", props: parseMembers(text, pos, "}") }, imports };
        }
    }
    cache.set(file, result);
    return result;
}

function check(value, type, imports, where, problems) {
    if (value === null || value === undefined) return;
    switch (type.kind) {
        case "ref": {
            const file = imports.get(type.name);
            const decl = file && declaration(file);
            if (decl) check(value, decl.type, decl.imports, where, problems);
            return;
        }
        case "array":
            if (Array.isArray(value)) value.forEach((v, i) => check(v, type.of, imports, `${where}/${i}`, problems));
            return;
        case "map":
            if (typeof value === "object")
                for (const [k, v] of Object.entries(value)) check(v, type.of, imports, `${where}/${k}`, problems);
            return;
        case "object":
            if (typeof value !== "object" || Array.isArray(value)) return;
            for (const [k, v] of Object.entries(value)) {
                const t = type.props.get(k);
                if (t === undefined) problems.push(`${where}/${k}: unknown field`);
                else check(v, t, imports, `${where}/${k}`, problems);
            }
            return;
        default:
            return;
    }
}

// The unknown fields of `object`, whose model is the module file `modelFile` (.js).
export function unknownFields(object, modelFile) {
    const decl = declaration(modelFile.replace(/\.(m?js)$/, "") + ".d.ts");
    if (!decl) return [];
    const problems = [];
    check(object, decl.type, decl.imports, "", problems);
    return problems;
}
