/**
 * The schema of `restorable.yml` (docs/cli.md, "Configuration file"), as zod
 * strict objects: an unknown key anywhere is an error, so a typo such as
 * `exlude:` never silently widens a backup.
 *
 * Later sections (`retention:` for prune, `drill:` for restore drills) are
 * added here as new optional keys of `ConfigSchema`; until then they are
 * unknown keys and rejected.
 */
import { z } from "zod";
import { RetentionSchema } from "../core/retention-policy.js";
import { DrillSchema } from "./drill-schema.js";

/** A source name: one path segment of `[A-Za-z0-9._-]`, not `.` or `..` (it becomes a folder under the restore target). */
export const SOURCE_NAME_RE = /^[A-Za-z0-9._-]+$/;

/** True when `name` is a valid source name. */
export function isSourceName(name: string): boolean {
  return SOURCE_NAME_RE.test(name) && name !== "." && name !== "..";
}

const sourceName = z.string().refine(isSourceName, { message: "expected one path segment of letters, digits, '.', '_' or '-' (not '.' or '..')" });
const nonEmpty = z.string().min(1);
const globs = z.array(nonEmpty);

/** `type: directory`: a folder tree. `include`/`exclude` are globs relative to `path` (picomatch syntax). */
export const DirectorySourceSchema = z.strictObject({
  type: z.literal("directory"),
  name: sourceName.optional(),
  path: nonEmpty,
  include: globs.optional(),
  exclude: globs.optional(),
  /** `auto` (default) finds SQLite databases by header and copies them consistently; `never` reads them as plain files. */
  sqlite: z.enum(["auto", "never"]).optional(),
});

/** `type: sqlite`: one SQLite database file, copied consistently while it may be in use. */
export const SqliteSourceSchema = z.strictObject({
  type: z.literal("sqlite"),
  name: sourceName.optional(),
  path: nonEmpty,
});

/** `type: command`: the standard output of a command (argv, no shell) stored as one file named `filename`. */
export const CommandSourceSchema = z.strictObject({
  type: z.literal("command"),
  name: sourceName.optional(),
  command: z.array(nonEmpty).min(1),
  filename: sourceName.optional(),
});

/** One entry of `sources:`; `type` defaults to `directory` when left out. */
export const SourceSchema = z.preprocess(
  (v) => (v !== null && typeof v === "object" && !Array.isArray(v) && !("type" in v) ? { type: "directory", ...v } : v),
  z.discriminatedUnion("type", [DirectorySourceSchema, SqliteSourceSchema, CommandSourceSchema]),
);

/** An environment variable name, or a prefix ending in `*` (`PG*`). */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, { message: "expected an environment variable name such as PGHOST (or a prefix such as PG*)" });

/** The whole file. Every section is optional; `sources` is required only when the file supplies a snapshot's sources. */
export const ConfigSchema = z.strictObject({
  /** A folder (relative to the file's folder) or `s3://bucket/prefix`. `--repo` and RESTORABLE_REPOSITORY override it. */
  repository: nonEmpty.optional(),
  /** Tags added to every snapshot taken with this file. */
  tags: z.array(nonEmpty).optional(),
  sources: z.array(SourceSchema).min(1).optional(),
  /** Shell commands run before and after each snapshot (`post` always runs). */
  hooks: z.strictObject({ pre: nonEmpty.optional(), post: nonEmpty.optional() }).optional(),
  /** Extra environment names hooks and command sources may see. */
  env: z.array(envName).optional(),
  /** `json`: globs (against `SOURCE/path`) of JSON files the semantic verify parses. */
  verify: z.strictObject({ json: globs.optional() }).optional(),
  /** Retention policy for `prune` (docs/retention.md); `prune --keep-*` flags override it. */
  retention: RetentionSchema.optional(),
  /** Restore drills (docs/drills.md): schema in drill-schema.ts. */
  drill: DrillSchema.optional(),
});

/** restorable.yml as parsed (paths still as written in the file). */
export type ConfigFile = z.infer<typeof ConfigSchema>;
/** One parsed `sources:` entry. */
export type SourceConfig = z.infer<typeof SourceSchema>;
