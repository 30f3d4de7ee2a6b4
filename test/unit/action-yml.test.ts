/**
 * actions/<name>/action.yml against the code: node24, the bundle path, a
 * description on every input and output, every input the code reads
 * declared (and nothing declared that the code ignores), every output the
 * code sets declared, defaults equal to the code's fallbacks.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { COUNT_KEYS, WITHIN_KEYS } from "../../src/core/retention.js";

const ROOT = resolve(import.meta.dirname, "../..");
const ACTIONS = ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"];

interface ActionYml {
  name: string;
  description: string;
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string };
}

const load = (name: string): ActionYml => parse(readFileSync(join(ROOT, "actions", name, "action.yml"), "utf8")) as ActionYml;
const src = (...parts: string[]): string => readFileSync(join(ROOT, "src", ...parts), "utf8");

/** Input names read through InputReader in `text` (`r.boolean("dry-run", ...)`). */
function inputsRead(text: string): string[] {
  return [...text.matchAll(/\br\.(?:optional|required|boolean|choice|integer|duration|time|list|percent)\("([a-z0-9-]+)"/g)].map((m) => m[1]!);
}

/** Output names in the object returned by the `...Outputs` function of a summary module. */
function outputsSet(text: string): string[] {
  const start = text.search(/export function \w+Outputs\(/);
  const body = text.slice(start, text.indexOf("\n}\n", start));
  const ret = body.slice(body.lastIndexOf("return {"));
  return [...ret.matchAll(/(?:^|[{,]\s*|\n\s*)(?:"([a-z0-9-]+)"|([a-z]+)):/g)].map((m) => m[1] ?? m[2]!);
}

describe("action.yml files", () => {
  const common = inputsRead(src("action", "common.ts"));
  const declaredOutputs = new Set<string>();

  for (const name of ACTIONS) {
    it(`${name}: node24, its bundle, descriptions, and the inputs and outputs the code uses`, () => {
      const yml = load(name);
      expect(yml.runs).toEqual({ using: "node24", main: `../../dist/${name}/index.js` });
      expect(yml.description.length).toBeGreaterThan(20);
      for (const [k, v] of Object.entries(yml.inputs)) expect(v.description, `input ${k}`).toMatch(/\S{3,}/);
      for (const [k, v] of Object.entries(yml.outputs)) expect(v.description, `output ${k}`).toMatch(/\S{3,}/);
      const text = src("action", name, "inputs.ts");
      // prune reads every retention rule in a loop over the policy's keys.
      const own = [...inputsRead(text), ...(text.includes("of COUNT_KEYS") ? [...COUNT_KEYS, ...WITHIN_KEYS] : [])];
      const read = new Set([...common, ...own]);
      expect([...read].filter((i) => !(i in yml.inputs)), "inputs read but not declared").toEqual([]);
      expect(Object.keys(yml.inputs).filter((i) => !read.has(i)), "inputs declared but never read").toEqual([]);
      const set = outputsSet(src("action", name, "summary.ts"));
      expect(set.length).toBeGreaterThan(3);
      expect(set.filter((o) => !(o in yml.outputs)), "outputs set but not declared").toEqual([]);
      expect(Object.keys(yml.outputs).filter((o) => o !== "error-code" && !set.includes(o)), "outputs declared but never set").toEqual([]);
      for (const o of Object.keys(yml.outputs)) declaredOutputs.add(o);
    });
  }

  it("together the actions offer the outputs the workflows rely on", () => {
    for (const o of ["snapshot-id", "bytes-added", "verified", "drill-passed", "rto-seconds", "rpo-seconds", "removed-count"]) expect(declaredOutputs).toContain(o);
  });

  it("defaults in action.yml match the code's fallbacks", () => {
    const text = [src("action", "common.ts"), ...ACTIONS.map((n) => src("action", n, "inputs.ts"))].join("\n");
    for (const name of ACTIONS) {
      for (const [input, spec] of Object.entries(load(name).inputs)) {
        if (spec.default === undefined) continue;
        const bool = new RegExp(`r\\.boolean\\("${input}", (true|false)\\)`).exec(text);
        const int = new RegExp(`r\\.integer\\("${input}", \\{[^}]*\\}, (\\d+)\\)`).exec(text);
        const opt = new RegExp(`r\\.optional\\("${input}"\\) \\?\\? "([^"]*)"`).exec(text);
        const fallback = bool?.[1] ?? int?.[1] ?? opt?.[1];
        expect(fallback, `${name}: ${input}`).toBe(spec.default);
      }
    }
  });
});
