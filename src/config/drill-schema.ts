/**
 * The `drill:` section of restorable.yml (docs/drills.md): which snapshot,
 * where each restored source goes, post-restore steps, the application and
 * its readiness probe, health checks, budgets, the canary and the kind
 * sandbox. zod strict objects: an unknown key anywhere is an error. Keys of
 * more than one word are kebab-case, as in `retention:`.
 *
 * Values that have their own small language are checked here so that a
 * mistake is reported with its place in the file
 * (`drill.checks[2].expect[0]: malformed JSON path ...`): JSON-path
 * expectations, other expectations, durations, modes, regular expressions,
 * and `${...}` variables.
 */
import { z } from "zod";
import { parseExpectation, ExpectationSyntaxError } from "../checks/compare.js";
import { parseJsonPathExpectation } from "../checks/json-path.js";
import { parseDuration } from "./duration.js";
import { parseMode, requiredBits } from "./mode.js";

const nonEmpty = z.string().min(1);

/** A source name as schema.ts defines it (one path segment of [A-Za-z0-9._-], not . or ..); repeated here so this file does not import schema.ts, which imports it. */
function isSourceName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && name !== "." && name !== "..";
}

/** `${sandbox}`, `${port}`, `${config}`, `${sources.NAME}`: the variables strings in `drill:` may use. */
export const VARIABLE_RE = /\$\{([^}]*)\}/g;

/** Why `name` is not a drill variable, or undefined when it is one. */
export function variableProblem(name: string): string | undefined {
  if (name === "sandbox" || name === "port" || name === "config") return undefined;
  if (name.startsWith("sources.") && isSourceName(name.slice("sources.".length))) return undefined;
  return `unknown variable \${${name}} (known: \${sandbox}, \${port}, \${config}, \${sources.NAME})`;
}

/** A string that may hold `${...}` variables; each must be a known one. */
const template = nonEmpty.superRefine((s, ctx) => {
  for (const m of s.matchAll(VARIABLE_RE)) {
    const p = variableProblem(m[1]!);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }
  if (/\$\{[^}]*$/.test(s)) ctx.addIssue({ code: "custom", message: "unterminated ${ (write ${name})" });
});

/** A duration (duration.ts): seconds as a number, or `30s`, `5min`, `26h`... */
export const durationSchema = z.union([z.number(), z.string()]).superRefine((v, ctx) => {
  try {
    parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const modeSchema = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  try {
    parseMode(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const checkModeSchema = modeSchema.superRefine((v, ctx) => {
  try {
    requiredBits(parseMode(v));
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const regexSchema = nonEmpty.superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(err as Error).message}` });
  }
});

/** An expectation (`== 5`, `>= 1`, `exists`); a plain value means `==` that value. */
const expectationSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]).superRefine((v, ctx) => {
  if (typeof v !== "string" || !/^\s*(==|!=|>=|<=|>|<|!?exists\s*$)/.test(v)) return;
  try {
    parseExpectation(v);
  } catch (err) {
    if (err instanceof ExpectationSyntaxError) ctx.addIssue({ code: "custom", message: err.message });
    else throw err;
  }
});

const jsonPathExpectation = nonEmpty.superRefine((v, ctx) => {
  try {
    parseJsonPathExpectation(v);
  } catch (err) {
    if (err instanceof ExpectationSyntaxError) ctx.addIssue({ code: "custom", message: `${err.message} in ${JSON.stringify(v)}` });
    else throw err;
  }
});

/** An environment variable name. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for names a drill may never set or pass: the repository's secrets and storage credentials. */
export function isForbiddenDrillEnvName(name: string): boolean {
  return name.startsWith("RESTORABLE_") || name.startsWith("AWS_");
}

const envName = z.string().regex(ENV_NAME_RE, { message: "expected an environment variable name such as DATA_DIR" }).refine((n) => !isForbiddenDrillEnvName(n), {
  message: "RESTORABLE_* and AWS_* variables (the repository's secrets and storage credentials) never reach a drill",
});
const passEnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, { message: "expected an environment variable name such as PGHOST (or a prefix such as PG*)" }).refine((n) => !isForbiddenDrillEnvName(n.replace(/\*$/, "")) && !"RESTORABLE_".startsWith(n.replace(/\*$/, "")) && !"AWS_".startsWith(n.replace(/\*$/, "")), {
  message: "RESTORABLE_* and AWS_* variables (the repository's secrets and storage credentials) never reach a drill",
});
/** name -> value; keys checked here (not by a key schema) so that errors name the variable. */
const envMap = z.record(z.string(), z.string()).superRefine((m, ctx) => {
  for (const k of Object.keys(m)) {
    if (!ENV_NAME_RE.test(k)) ctx.addIssue({ code: "custom", message: "expected an environment variable name such as DATA_DIR", path: [k] });
    else if (isForbiddenDrillEnvName(k)) ctx.addIssue({ code: "custom", message: "RESTORABLE_* and AWS_* variables (the repository's secrets and storage credentials) never reach a drill", path: [k] });
  }
});

const sourceNameKey = z.string().refine(isSourceName, { message: "expected a source name (letters, digits, '.', '_' or '-')" });

/** A relative path inside the sandbox: no `..`, not absolute, not under the sandbox's own `logs/`, `restored/` and `kind/` folders. */
const sandboxRelPath = nonEmpty.refine((p) => !p.startsWith("/") && !p.split("/").includes("..") && !p.includes("\\"), {
  message: "expected a relative path inside the sandbox, without '..'",
}).refine((p) => !/^(\.\/)?(logs|restored|kind)(\/|$)/.test(p), { message: "logs/, restored/ and kind/ are the sandbox's own folders; choose another path" });

const timeout = durationSchema.optional();

/* ---------- post-restore steps ---------- */

/** `type: sql`: statements on a restored SQLite database, in one transaction. */
export const SqlStepSchema = z.strictObject({
  type: z.literal("sql"),
  name: nonEmpty,
  /** The database file (usually `${sources.NAME}/file.sqlite`). */
  db: template,
  /** One statement (or several separated by `;`), or a list run in order in one transaction. */
  statements: z.union([nonEmpty, z.array(nonEmpty).min(1)]),
});

/** `type: shell`: a line for /bin/sh -c, in the sandbox folder, in its own process group. */
export const ShellStepSchema = z.strictObject({
  type: z.literal("shell"),
  name: nonEmpty,
  /** Run as `/bin/sh -c` in the sandbox folder, with the drill's environment. */
  run: template,
  timeout,
});

/** `type: chmod`: mode and/or owner of a restored path, or of the entries below it matching `glob`. */
export const ChmodStepSchema = z.strictObject({
  type: z.literal("chmod"),
  name: nonEmpty,
  path: template,
  /** Globs (picomatch) relative to `path`: change the matching entries below it instead of `path` itself. */
  glob: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional(),
  mode: modeSchema.optional(),
  /** `UID` or `UID:GID` (numbers): needs root. */
  owner: z.string().regex(/^\d+(:\d+)?$/, { message: "expected UID or UID:GID (numbers)" }).optional(),
}).refine((s) => s.mode !== undefined || s.owner !== undefined, { message: "a chmod step needs mode, owner or both", path: ["mode"] });

/** One post-restore step, by `type`. */
export const StepSchema = z.discriminatedUnion("type", [SqlStepSchema, ShellStepSchema, ChmodStepSchema]);

/* ---------- checks ---------- */

const jsonValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

/** `type: http`: one request; status, JSON-path expectations, body substrings. */
export const HttpCheckSchema = z.strictObject({
  type: z.literal("http"),
  name: nonEmpty,
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).optional(),
  url: template,
  headers: z.record(z.string(), z.string()).optional(),
  /** A string is sent as is; a mapping or list as JSON (content-type application/json unless given). */
  body: jsonValue.optional(),
  /** Accepted status code(s); default 200. */
  status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
  /** JSON-path expectations (json-path.ts), e.g. `$.handle == "alice.test"`. */
  expect: z.array(jsonPathExpectation).optional(),
  /** Substring(s) the body must contain. */
  contains: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional(),
  timeout,
});

/** `type: sql`: a read-only query with expectations on the first value and/or the row count. */
export const SqlCheckSchema = z.strictObject({
  type: z.literal("sql"),
  name: nonEmpty,
  db: template,
  query: nonEmpty,
  /** On the first column of the first row: `== 5`, `>= 1`, `exists`, or a plain value (means ==). */
  expect: expectationSchema.optional(),
  /** On the number of rows: a number (means ==) or `>= 1`... */
  rows: expectationSchema.optional(),
}).refine((s) => s.expect !== undefined || s.rows !== undefined, { message: "a sql check needs expect, rows or both", path: ["expect"] });

/** `type: command`: exit status and output patterns of a program or shell line. */
export const CommandCheckSchema = z.strictObject({
  type: z.literal("command"),
  name: nonEmpty,
  /** argv, no shell. */
  run: z.array(template).min(1).optional(),
  /** A line for /bin/sh -c. */
  shell: template.optional(),
  exit: z.number().int().min(0).max(255).optional(),
  stdout: regexSchema.optional(),
  stderr: regexSchema.optional(),
  timeout,
}).refine((s) => (s.run === undefined) !== (s.shell === undefined), { message: "a command check needs exactly one of run (argv) or shell (a line)", path: ["run"] });

/** `type: file`: existence, mode, SHA-256 and size of a restored path. */
export const FileCheckSchema = z.strictObject({
  type: z.literal("file"),
  name: nonEmpty,
  path: template,
  exists: z.boolean().optional(),
  mode: checkModeSchema.optional(),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, { message: "expected 64 hex digits" }).optional(),
  /** Exact size in bytes, or a range `{min, max}` (both ends included). */
  size: z.union([z.number().int().min(0), z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })]).optional(),
});

/** `type: git-fsck`: git fsck --full of every git directory at or below `path`. */
export const GitFsckCheckSchema = z.strictObject({
  type: z.literal("git-fsck"),
  name: nonEmpty,
  /** A git directory, or a folder searched for git directories. */
  path: template,
  timeout,
});

/** `type: sqlite-integrity`: PRAGMA integrity_check of a restored database. */
export const SqliteIntegrityCheckSchema = z.strictObject({
  type: z.literal("sqlite-integrity"),
  name: nonEmpty,
  db: template,
});

/** One health check, by `type`. */
export const CheckSchema = z.discriminatedUnion("type", [HttpCheckSchema, SqlCheckSchema, CommandCheckSchema, FileCheckSchema, GitFsckCheckSchema, SqliteIntegrityCheckSchema]);

/* ---------- the application ---------- */

/** `app.ready`: exactly one readiness probe (http, tcp or log). */
export const ReadySchema = z.strictObject({
  /** Ready when a GET of `url` answers with `status` (default: any 2xx or 3xx). */
  http: z.strictObject({ url: template, status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional() }).optional(),
  /** Ready when a TCP connection to `host:port` succeeds. */
  tcp: z.strictObject({ port: z.union([z.number().int().min(1).max(65535), template]), host: nonEmpty.optional() }).optional(),
  /** Ready when a line of the application's output matches this regular expression. */
  log: regexSchema.optional(),
}).refine((r) => [r.http, r.tcp, r.log].filter((x) => x !== undefined).length === 1, { message: "give exactly one readiness probe: http, tcp or log" });

/** `app:`: the application started on the restored data (local sandbox). */
export const AppSchema = z.strictObject({
  /** argv (no shell); strings may use ${...} variables. */
  command: z.array(template).min(1),
  /** Working folder (default: the sandbox folder). */
  cwd: template.optional(),
  env: envMap.optional(),
  ready: ReadySchema,
  "start-timeout": timeout,
  "stop-timeout": timeout,
});

/* ---------- canary, kind ---------- */

/** `canary:`: the RPO marker written before each snapshot and read back after the restore (checks/canary.ts). */
export const CanarySchema = z.strictObject({
  /** The live database (relative to restorable.yml); it must lie inside one of `sources:`. */
  db: nonEmpty,
  /** Statement(s) run before each snapshot with `:now` bound to the current time (ISO 8601). */
  write: nonEmpty.optional(),
  /** Query returning the canary time (ISO 8601 text or ms since the epoch) from the restored copy. */
  read: nonEmpty.optional(),
});

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "expected a Kubernetes name (lowercase letters, digits, '-' and '.')" });

/** `kind:`: the cluster, manifests, claims, rollouts and port-forward of the kind sandbox. */
export const KindSchema = z.strictObject({
  /** Default `restorable-drill-<random>`. */
  "cluster-name": z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, { message: "expected lowercase letters, digits and '-' (at most 41 characters)" }).optional(),
  /** kindest/node image (default: kind's own default). */
  "node-image": nonEmpty.optional(),
  /** Manifest files (relative to restorable.yml), applied with kubectl apply -f in order. */
  manifests: z.array(nonEmpty).min(1).optional(),
  /** A kustomize folder (relative to restorable.yml), applied with kubectl apply -k. */
  kustomize: nonEmpty.optional(),
  namespace: k8sName.optional(),
  /** PersistentVolumes to create on the restored data, each pre-bound to a claim of the manifests. */
  claims: z.array(z.strictObject({
    name: k8sName,
    namespace: k8sName.optional(),
    source: sourceNameKey,
    /** A folder inside the restored source (default: the source's root). */
    "sub-path": sandboxRelPath.optional(),
    capacity: z.string().regex(/^\d+(Ki|Mi|Gi|Ti)?$/, { message: "expected a Kubernetes quantity such as 10Gi" }).optional(),
    "storage-class": z.string().optional(),
  })).min(1),
  /** Workloads to wait for (`deployment/pds`), with kubectl rollout status. */
  rollout: z.array(nonEmpty).optional(),
  "rollout-timeout": timeout,
  /** Forwarded to ${port} on the runner for the checks. */
  "port-forward": z.strictObject({ resource: nonEmpty, port: z.number().int().min(1).max(65535), namespace: k8sName.optional() }).optional(),
  /** Images built on the runner to load into the cluster (kind load docker-image). */
  "load-images": z.array(nonEmpty).optional(),
}).refine((k) => (k.manifests === undefined) !== (k.kustomize === undefined), { message: "give exactly one of manifests (files) or kustomize (a folder)", path: ["manifests"] });

/* ---------- the section ---------- */

/** The `drill:` section (docs/drills.md). */
export const DrillSchema = z.strictObject({
  /** `latest` (default), an id or unique prefix, or `latest-before:<ISO time>`; --snapshot overrides it. */
  snapshot: nonEmpty.optional(),
  /** Choose among snapshots carrying every one of these tags. */
  tags: z.array(nonEmpty).optional(),
  sandbox: z.enum(["local", "kind"]).optional(),
  /** Where each restored source goes (a path inside the sandbox) and/or which variable receives its path. */
  sources: z.record(sourceNameKey, z.strictObject({ path: sandboxRelPath.optional(), env: envName.optional() })).optional(),
  /** Environment for steps, the application and command checks (values may use ${...}). */
  env: envMap.optional(),
  /** Names (or PREFIX*) passed through from restorable's own environment; never RESTORABLE_* or AWS_*. */
  "pass-env": z.array(passEnvName).optional(),
  steps: z.array(StepSchema).optional(),
  app: AppSchema.optional(),
  checks: z.array(CheckSchema).min(1),
  "max-rto": durationSchema.optional(),
  "max-rpo": durationSchema.optional(),
  canary: CanarySchema.optional(),
  kind: KindSchema.optional(),
}).superRefine((d, ctx) => {
  const dup = (list: readonly { name: string }[] | undefined, key: string): void => {
    const seen = new Set<string>();
    list?.forEach((x, i) => {
      if (seen.has(x.name)) ctx.addIssue({ code: "custom", message: `two ${key} are named "${x.name}"; names must be unique`, path: [key, i, "name"] });
      seen.add(x.name);
    });
  };
  dup(d.steps, "steps");
  dup(d.checks, "checks");
  const sandbox = d.sandbox ?? "local";
  if (sandbox === "kind" && !d.kind) ctx.addIssue({ code: "custom", message: "sandbox: kind needs a kind: section", path: ["kind"] });
  if (sandbox === "kind" && d.app) ctx.addIssue({ code: "custom", message: "with sandbox: kind the application runs in the cluster (kind.manifests); remove app:", path: ["app"] });
  if (sandbox === "local" && d.kind) ctx.addIssue({ code: "custom", message: "kind: is only used with sandbox: kind", path: ["kind"] });
});

/** The `drill:` section as parsed (strings as written). */
export type DrillConfig = z.infer<typeof DrillSchema>;
/** One parsed step. */
export type StepConfig = z.infer<typeof StepSchema>;
/** One parsed check. */
export type CheckConfig = z.infer<typeof CheckSchema>;
/** The parsed `app:`. */
export type AppConfig = z.infer<typeof AppSchema>;
/** The parsed `kind:`. */
export type KindConfig = z.infer<typeof KindSchema>;
/** The parsed `canary:`. */
export type CanaryConfig = z.infer<typeof CanarySchema>;
