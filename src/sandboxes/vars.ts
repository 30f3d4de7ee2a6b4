/**
 * `${...}` variables in the `drill:` section: `${sandbox}` (the sandbox
 * folder), `${port}` (a free TCP port on 127.0.0.1 chosen for this drill),
 * `${config}` (the folder of restorable.yml), `${sources.NAME}` (where
 * source NAME was restored). Substituted when the drill runs; the names are
 * checked when the file is loaded (drill-schema.ts) and the source names
 * against the snapshot when the drill is planned.
 */
import { ConfigError } from "../core/errors.js";
import { VARIABLE_RE } from "../config/drill-schema.js";

/** The values of the variables for one drill run. Paths are absolute. */
export interface DrillVars {
  readonly sandbox: string;
  readonly port: number;
  readonly config: string;
  /** Source name -> absolute path of the restored source. */
  readonly sources: Readonly<Record<string, string>>;
}

/** Source names referenced as `${sources.NAME}` in `text`. */
export function sourceRefs(text: string): string[] {
  return [...text.matchAll(VARIABLE_RE)].map((m) => m[1]!).filter((n) => n.startsWith("sources.")).map((n) => n.slice("sources.".length));
}

/**
 * `text` with every variable replaced.
 * @param field where `text` is in the file (`drill.checks[0].url`), for errors.
 * @throws ConfigError naming `field` when a variable is unknown (e.g. a source the snapshot does not have).
 */
export function substitute(text: string, vars: DrillVars, field: string): string {
  return text.replace(VARIABLE_RE, (_all, name: string) => {
    if (name === "sandbox") return vars.sandbox;
    if (name === "port") return String(vars.port);
    if (name === "config") return vars.config;
    if (name.startsWith("sources.")) {
      const p = vars.sources[name.slice("sources.".length)];
      if (p !== undefined) return p;
      throw new ConfigError(`${field}: \${${name}}: the snapshot has no source of that name (it has: ${Object.keys(vars.sources).join(", ") || "none"})`, { field });
    }
    throw new ConfigError(`${field}: unknown variable \${${name}}`, { field });
  });
}
