/**
 * Inputs of the snapshot action (actions/snapshot/action.yml) as one
 * readonly object, and the snapshot options they make with restorable.yml:
 * `paths` replaces the file's `sources:` (as PATHs do on the command line),
 * `tags` add to the file's tags.
 */
import * as core from "@actions/core";
import type { LoadedConfig } from "../../config/load.js";
import { configSourceSpecs, pathSourceSpecs } from "../../config/sources.js";
import { ConfigError } from "../../core/errors.js";
import type { SnapshotOptions } from "../../ops/snapshot/snapshot.js";
import { readCommonInputs, type CommonInputs } from "../common.js";
import type { InputReader } from "../inputs.js";

export interface SnapshotInputs {
  readonly common: CommonInputs;
  /** `paths`: folders or SQLite files; empty = the `sources:` of restorable.yml. */
  readonly paths: readonly string[];
  /** `tags`. */
  readonly tags: readonly string[];
  /** `host`: recorded host name (default: the runner's). */
  readonly host?: string;
  /** `init`: create the repository when the location holds none (a first run). */
  readonly init: boolean;
}

/** @throws ConfigError naming the input. */
export function readSnapshotInputs(r: InputReader, cwd: string): SnapshotInputs {
  const host = r.optional("host");
  return { common: readCommonInputs(r, cwd), paths: r.list("paths"), tags: r.list("tags"), ...(host ? { host } : {}), init: r.boolean("init", false) };
}

const onWarning: SnapshotOptions["onWarning"] = (w) => core.warning(`${w.path}: ${w.message}`);

/**
 * The options of `snapshot()`.
 * @throws ConfigError when there is nothing to back up (no paths and no sources: in the file), SourceError for a missing path.
 */
export async function snapshotOptions(inputs: SnapshotInputs, loaded: LoadedConfig | undefined): Promise<Omit<SnapshotOptions, "onProgress">> {
  if (inputs.paths.length > 0) {
    return { sources: await pathSourceSpecs(inputs.paths, inputs.common.workingDirectory), tags: [...new Set(inputs.tags)], ...(inputs.host ? { host: inputs.host } : {}), onWarning };
  }
  if (!loaded) throw new ConfigError('nothing to back up: give the input "paths", or a restorable.yml with sources: (input "config")', { field: "paths", input: "paths" });
  const file = loaded.config;
  return {
    sources: configSourceSpecs(loaded),
    tags: [...new Set([...(file.tags ?? []), ...inputs.tags])],
    ...(inputs.host ? { host: inputs.host } : {}),
    ...(file.hooks ? { hooks: file.hooks } : {}),
    ...(file.env ? { envAllow: file.env } : {}),
    onWarning,
  };
}
