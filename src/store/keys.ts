/**
 * Object key grammar shared by every store adapter.
 *
 * A key is one or more `/`-separated segments; each segment is made of
 * `[A-Za-z0-9._-]`, is neither empty, `.` nor `..`, and does not start with
 * `.tmp-` (that name is reserved for the local store's temporary files). So a
 * key never starts or ends with `/`, never holds `//`, and maps one to one to a
 * relative file path and to an S3 object key without escaping.
 */
import { ConfigError } from "../core/errors.js";

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Segment prefix reserved for in-flight temporary files of the local store. */
export const TEMP_PREFIX = ".tmp-";

/** Why `segment` is not a valid key segment, or `undefined` when it is. */
function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "an empty segment";
  if (segment === "." || segment === "..") return `a "${segment}" segment`;
  if (!SEGMENT.test(segment)) return `a character outside [A-Za-z0-9._-] in segment "${segment}"`;
  if (segment.startsWith(TEMP_PREFIX)) return `a segment starting with the reserved "${TEMP_PREFIX}"`;
  return undefined;
}

/** True when `segment` is a valid single key segment (no `/`). */
export function isValidSegment(segment: string): boolean {
  return segmentProblem(segment) === undefined;
}

/**
 * Checks an object key against the grammar above.
 * @throws ConfigError naming the key and what is wrong with it (`details.key`).
 */
export function assertValidKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new ConfigError(`invalid object key ${JSON.stringify(key)}: expected a non-empty string`, { key });
  }
  if (key.startsWith("/")) {
    throw new ConfigError(`invalid object key "${key}": it must not start with "/"`, { key });
  }
  for (const segment of key.split("/")) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) {
      throw new ConfigError(
        `invalid object key "${key}": it has ${problem}; expected "/"-separated segments of [A-Za-z0-9._-]`,
        { key },
      );
    }
  }
}

/**
 * Checks a `list` prefix: empty (everything), a key, or a key followed by one
 * `/` (e.g. `snapshots/`). A partial last segment (`data/ab`) is allowed.
 * @throws ConfigError naming the prefix (`details.prefix`).
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === "") return;
  const body = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  try {
    assertValidKey(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`invalid list prefix "${prefix}": ${reason}`, { prefix }, { cause: error });
  }
}
