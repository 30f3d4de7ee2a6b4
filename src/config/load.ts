/**
 * Loads `restorable.yml`: YAML 1.2 (the `yaml` package; duplicate keys are
 * errors) validated against `ConfigSchema` (zod). Every error is a
 * ConfigError whose message names the file and the path inside it, e.g.
 * `restorable.yml: sources[1].path: expected a string`, or the line and
 * column of a YAML syntax error. Relative paths in the file are taken
 * relative to the file's folder.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { ConfigSchema, type ConfigFile } from "./schema.js";

/** A loaded configuration file. */
export interface LoadedConfig {
  /** The name used in messages (the path as the user gave it). */
  readonly label: string;
  /** Absolute path of the file. */
  readonly file: string;
  /** Absolute folder of the file: base of every relative path in it. */
  readonly dir: string;
  /** The validated content, paths as written. */
  readonly config: ConfigFile;
}

/** `["sources", 1, "path"]` -> `sources[1].path`; the top level is `(top level)`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out === "" ? "(top level)" : out;
}

const ARTICLE: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value)",
};

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** One zod issue as `path: what was expected` (paths of unknown keys include the key). */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): { field: string; text: string }[] {
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ field: formatConfigPath([...issue.path, k]), text: "unknown key" }));
    case "invalid_type": {
      const got = valueAt(data, issue.path);
      const want = ARTICLE[issue.expected] ?? issue.expected;
      return [{ field: formatConfigPath(issue.path), text: got === undefined ? `required (expected ${want})` : `expected ${want}, got ${describeValue(got)}` }];
    }
    case "invalid_value":
      return [{ field: formatConfigPath(issue.path), text: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(valueAt(data, issue.path))}` }];
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      if (options) return [{ field: formatConfigPath(issue.path), text: `expected one of ${options.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(valueAt(data, issue.path))}` }];
      return [{ field: formatConfigPath(issue.path), text: issue.message }];
    }
    case "too_small":
      if (issue.origin === "array") return [{ field: formatConfigPath(issue.path), text: `expected at least ${String(issue.minimum)} item(s)` }];
      if (issue.origin === "string") return [{ field: formatConfigPath(issue.path), text: "must not be empty" }];
      return [{ field: formatConfigPath(issue.path), text: issue.message }];
    default:
      return [{ field: formatConfigPath(issue.path), text: issue.message }];
  }
}

/**
 * Parses and validates the text of a configuration file.
 * @param label the file name to put in messages.
 * @throws ConfigError `<label>: line L, column C: <yaml error>` or `<label>: <path>: <problem>`;
 *   `details.field` is the path inside the file, `details.file` the label, `details.problems` all problems found.
 */
export function parseConfigText(text: string, label: string): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
    const msg = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`${label}: ${where}YAML syntax error: ${msg}`, { file: label, ...(pos ? { line: pos.line, column: pos.col } : {}) });
  }
  const data: unknown = doc.toJS() ?? {};
  const result = ConfigSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((i) => describeIssue(i, data));
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s): ${problems.slice(1, 4).map((p) => `${p.field}: ${p.text}`).join("; ")})` : "";
  throw new ConfigError(`${label}: ${first.field}: ${first.text}${more}`, { file: label, field: first.field, problems });
}

/**
 * Reads, parses and validates a configuration file.
 * @param path the file; relative to `cwd`.
 * @throws ConfigError when it cannot be read (naming the path) or is invalid (see parseConfigText).
 */
export async function loadConfig(path: string, cwd: string): Promise<LoadedConfig> {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${path}: cannot read the configuration file (${code === "ENOENT" ? "it does not exist" : (err as Error).message})`, { file: path, field: "config" }, { cause: err });
  }
  return { label: path, file, dir: dirname(file), config: parseConfigText(text, path) };
}

/** True for `s3://...`, `file://...` and other `scheme://` locations (never resolved against a folder). */
export function isUrlLocation(location: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location.trim());
}

/** The repository the file names, with a relative folder made absolute against the file's folder. */
export function configRepository(loaded: LoadedConfig): string | undefined {
  const r = loaded.config.repository;
  if (r === undefined) return undefined;
  return isUrlLocation(r) || isAbsolute(r) ? r : resolve(loaded.dir, r);
}
