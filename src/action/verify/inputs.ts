/**
 * Inputs of the verify action (actions/verify/action.yml) as one readonly
 * object. `max-age` defaults to `drill.max-rpo` of restorable.yml, so the
 * freshness check follows the RPO the drill already promises.
 */
import type { LoadedConfig } from "../../config/load.js";
import { parseDuration } from "../../config/duration.js";
import { readCommonInputs, type CommonInputs } from "../common.js";
import type { InputReader } from "../inputs.js";

export interface VerifyInputs {
  readonly common: CommonInputs;
  /** `snapshot`: a selector, or `all`; default `latest`. */
  readonly snapshot: string;
  /** `tags`: only snapshots carrying every tag. */
  readonly tags: readonly string[];
  /** `read-data`: read and authenticate every chunk. */
  readonly readData: boolean;
  /** `read-data-subset`: a percentage of the packs instead. */
  readonly readDataSubset?: number;
  /** `semantic`: restore to a temporary folder and run SQLite, git and JSON checks. */
  readonly semantic: boolean;
  /** `max-age`, ms: fail when the newest snapshot is older. */
  readonly maxAgeMs?: number;
  /** `annotate`: record the result in the repository (needs write access). */
  readonly annotate: boolean;
}

/** @throws ConfigError naming the input. */
export function readVerifyInputs(r: InputReader, cwd: string): VerifyInputs {
  const subset = r.percent("read-data-subset");
  const maxAge = r.duration("max-age");
  return {
    common: readCommonInputs(r, cwd),
    snapshot: r.optional("snapshot") ?? "latest",
    tags: r.list("tags"),
    readData: r.boolean("read-data", false),
    ...(subset !== undefined ? { readDataSubset: subset } : {}),
    semantic: r.boolean("semantic", false),
    ...(maxAge !== undefined ? { maxAgeMs: maxAge } : {}),
    annotate: r.boolean("annotate", true),
  };
}

/** `max-age`, else `drill.max-rpo` of the file, else none. */
export function effectiveMaxAge(inputs: VerifyInputs, loaded: LoadedConfig | undefined): number | undefined {
  if (inputs.maxAgeMs !== undefined) return inputs.maxAgeMs;
  const rpo = loaded?.config.drill?.["max-rpo"];
  return rpo === undefined ? undefined : parseDuration(rpo);
}
