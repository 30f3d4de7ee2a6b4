/**
 * Inputs of the restore-drill action (actions/restore-drill/action.yml) as
 * one readonly object, and the drill configuration they make: restorable.yml
 * with a `drill:` section is required; `snapshot` overrides `drill.snapshot`,
 * and `migrate` (a pull request's migration command) runs as the last
 * post-restore step, so the checks run against the migrated data.
 */
import type { LoadedConfig } from "../../config/load.js";
import { ConfigError } from "../../core/errors.js";
import { readCommonInputs, type CommonInputs } from "../common.js";
import type { InputReader } from "../inputs.js";

export interface DrillInputs {
  readonly common: CommonInputs;
  /** `snapshot`: a selector overriding `drill.snapshot`. */
  readonly snapshot?: string;
  /** `migrate`: a shell command run in the sandbox after the other post-restore steps. */
  readonly migrate?: string;
  /** `keep-sandbox`: leave the sandbox folder (the application is still stopped). */
  readonly keepSandbox: boolean;
  /** `record`: store the result on the snapshot (needs write access; a read-only gate sets false or is refused). */
  readonly record: boolean;
}

/** The name of the step `migrate` adds. */
export const MIGRATE_STEP = "migrate (input)";

/** @throws ConfigError naming the input. */
export function readDrillInputs(r: InputReader, cwd: string): DrillInputs {
  const snapshot = r.optional("snapshot");
  const migrate = r.optional("migrate");
  return {
    common: readCommonInputs(r, cwd),
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(migrate !== undefined ? { migrate } : {}),
    keepSandbox: r.boolean("keep-sandbox", false),
    record: r.boolean("record", true),
  };
}

/**
 * The configuration the drill runs: the file with `migrate` appended to `drill.steps`.
 * @throws ConfigError when there is no file or it has no `drill:` section.
 */
export function drillConfig(inputs: DrillInputs, loaded: LoadedConfig | undefined): LoadedConfig {
  if (!loaded?.config.drill) {
    throw new ConfigError(`input "config": the restore drill needs a restorable.yml with a drill: section${loaded ? ` (${loaded.label} has none)` : " (none found)"}; see docs/drills.md`, { field: "config", input: "config" });
  }
  if (inputs.migrate === undefined) return loaded;
  const drill = loaded.config.drill;
  return {
    ...loaded,
    config: { ...loaded.config, drill: { ...drill, steps: [...(drill.steps ?? []), { type: "shell", name: MIGRATE_STEP, run: inputs.migrate }] } },
  };
}
