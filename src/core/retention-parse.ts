/**
 * The retention policy as written in the `retention:` section of
 * restorable.yml (or built from `prune` flags): its type, its validation
 * and its durations, without zod (loading zod costs about 0.2 s of CPU, a
 * sixth of a whole prune; `prune --keep-daily 7` needs no schema library).
 * The zod schema embedded in the configuration schema is in
 * retention-policy.ts and accepts exactly what `parsePolicy` accepts
 * (test/unit/retention.test.ts runs both on the same inputs).
 * Semantics: docs/retention.md. The option names and the duration syntax
 * follow restic's `forget` (restic 0.14, `internal/restic/snapshot_policy.go`
 * and `duration.go`).
 */
import { ConfigError } from "./errors.js";
import { isValidTimeZone, type CalendarDuration } from "./zoned-time.js";

export type { CalendarDuration } from "./zoned-time.js";

/** Count rules: keep the newest snapshot of each of the last N buckets. */
export const COUNT_KEYS = ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"] as const;
/** Duration rules: `keep-within` keeps everything within the duration of the newest snapshot; the others one per bucket within it. */
export const WITHIN_KEYS = ["keep-within", "keep-within-hourly", "keep-within-daily", "keep-within-weekly", "keep-within-monthly", "keep-within-yearly"] as const;

export type CountKey = (typeof COUNT_KEYS)[number];
export type WithinKey = (typeof WITHIN_KEYS)[number];

/** How snapshots are split into groups, each pruned on its own. */
export type GroupBy = "sources" | "tags" | "none";

/** Every key the `retention:` section accepts. */
export const POLICY_KEYS: readonly string[] = [...COUNT_KEYS, ...WITHIN_KEYS, "keep-tag", "group-by", "time-zone"];

/** Messages of the validation, shared with the zod schema (retention-policy.ts). */
export const COUNT_MSG = "expected a non-negative integer";
export const DURATION_MSG = "expected a duration such as 7d, 36h or 1y2m3d4h (whole numbers with units y, m, d, h, each at most once)";
export const ZONE_MSG = "expected an IANA time zone name such as UTC or Europe/Berlin";

const DURATION_RE = /^(?:\d{1,9}[ymdh])+$/;

/**
 * Parses a duration in restic's syntax: `1y2m3d4h`, any subset of the units
 * y (years), m (months), d (days), h (hours), each at most once, any order,
 * no spaces or signs. `0d` is valid and means "rule off". Returns undefined
 * when malformed. (restic also accepts negative numbers and repeated units,
 * the last one winning; we refuse both.)
 */
export function parseDuration(text: string): CalendarDuration | undefined {
  if (typeof text !== "string" || !DURATION_RE.test(text)) return undefined;
  const d = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  for (const m of text.matchAll(/(\d+)([ymdh])/g)) {
    const unit = m[2]!;
    if (seen.has(unit)) return undefined;
    seen.add(unit);
    const n = Number(m[1]);
    if (unit === "y") d.years = n;
    else if (unit === "m") d.months = n;
    else if (unit === "d") d.days = n;
    else d.hours = n;
  }
  return d;
}

/** Canonical text of a duration, units in y m d h order, zero units left out (`0` when all are zero); as restic prints it. */
export function formatDuration(d: CalendarDuration): string {
  const s = `${d.years ? `${d.years}y` : ""}${d.months ? `${d.months}m` : ""}${d.days ? `${d.days}d` : ""}${d.hours ? `${d.hours}h` : ""}`;
  return s === "" ? "0" : s;
}

/** True when every unit of `d` is zero (the rule is off). */
export function isZeroDuration(d: CalendarDuration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

/** The values `group-by` accepts. */
export const GROUP_BY = ["sources", "tags", "none"] as const;
export const TAG_MSG = "expected a tag (a non-empty string)";
export const TAGS_MSG = "expected a list of tags";
export const GROUP_BY_MSG = 'expected one of "sources", "tags", "none"';

/**
 * A validated retention policy, keys as in restorable.yml. Missing counts are 0, missing durations off.
 * Counts are non-negative integers; durations are strings in restic's syntax (see parseDuration); `keep-tag` is a
 * list of tags (one string is taken as a list of one); `group-by` defaults to `sources`; `time-zone` is an IANA
 * name, default UTC.
 */
export interface RetentionPolicy {
  "keep-last"?: number | undefined;
  "keep-hourly"?: number | undefined;
  "keep-daily"?: number | undefined;
  "keep-weekly"?: number | undefined;
  "keep-monthly"?: number | undefined;
  "keep-yearly"?: number | undefined;
  "keep-within"?: string | undefined;
  "keep-within-hourly"?: string | undefined;
  "keep-within-daily"?: string | undefined;
  "keep-within-weekly"?: string | undefined;
  "keep-within-monthly"?: string | undefined;
  "keep-within-yearly"?: string | undefined;
  "keep-tag"?: string[] | undefined;
  "group-by"?: GroupBy | undefined;
  "time-zone"?: string | undefined;
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function field(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out === "" ? "(top level)" : out;
}

/**
 * Validates a plain object (the `retention:` section of restorable.yml, or
 * one built from flags) and returns it typed. `null`/`undefined` is an
 * empty policy. Does not refuse an empty policy: applyPolicy does, unless
 * told `allowEmpty`.
 * @param fieldPrefix how fields are named in messages, `retention` by default.
 * @throws ConfigError `retention.keep-daily: expected a non-negative integer, got number -1`;
 *   `details.field` is the field (`retention.keep-daily`), `details.problems` every problem found.
 */
export function parsePolicy(obj: unknown, fieldPrefix = "retention"): RetentionPolicy {
  const data = obj ?? {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${fieldPrefix || "(top level)"}: expected a mapping of ${POLICY_KEYS.join(", ")}, got ${describe(data)}`, { field: fieldPrefix });
  }
  const problems = validate(data as Record<string, unknown>, fieldPrefix);
  if (problems.length === 0) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) if (v !== undefined) out[k] = k === "keep-tag" && typeof v === "string" ? [v] : v;
    return out as RetentionPolicy;
  }
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s): ${problems.slice(1, 4).map((p) => `${p.field}: ${p.text}`).join("; ")})` : "";
  throw new ConfigError(`${first.field}: ${first.text}${more}`, { field: first.field, problems });
}

/** Every problem of `data`, known keys in POLICY_KEYS order, then unknown keys. */
function validate(data: Record<string, unknown>, prefix: string): { field: string; text: string }[] {
  const problems: { field: string; text: string }[] = [];
  const bad = (path: readonly PropertyKey[], text: string, got: unknown): void => {
    problems.push({ field: field(prefix, path), text: `${text}, got ${describe(got)}` });
  };
  for (const key of COUNT_KEYS) {
    const v = data[key];
    if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) bad([key], COUNT_MSG, v);
  }
  for (const key of WITHIN_KEYS) {
    const v = data[key];
    if (v !== undefined && !(typeof v === "string" && parseDuration(v) !== undefined)) bad([key], DURATION_MSG, v);
  }
  const tags = data["keep-tag"];
  if (tags !== undefined) {
    const list = typeof tags === "string" ? [tags] : tags;
    if (!Array.isArray(list)) bad(["keep-tag"], TAGS_MSG, tags);
    else list.forEach((t: unknown, i) => {
      if (typeof t !== "string" || t === "") bad(["keep-tag", i], TAG_MSG, t);
    });
  }
  const groupBy = data["group-by"];
  if (groupBy !== undefined && !(GROUP_BY as readonly unknown[]).includes(groupBy)) bad(["group-by"], GROUP_BY_MSG, groupBy);
  const zone = data["time-zone"];
  if (zone !== undefined && !(typeof zone === "string" && isValidTimeZone(zone))) bad(["time-zone"], ZONE_MSG, zone);
  for (const key of Object.keys(data)) {
    if (!POLICY_KEYS.includes(key)) problems.push({ field: field(prefix, [key]), text: `unknown key (expected one of ${POLICY_KEYS.join(", ")})` });
  }
  return problems;
}

/** True when no rule of `policy` can keep a snapshot (every count 0 or missing, every duration zero or missing, no keep-tag). */
export function keepsNothing(policy: RetentionPolicy): boolean {
  if (COUNT_KEYS.some((k) => (policy[k] ?? 0) > 0)) return false;
  if (WITHIN_KEYS.some((k) => { const s = policy[k]; const d = s === undefined ? undefined : parseDuration(s); return d !== undefined && !isZeroDuration(d); })) return false;
  return (policy["keep-tag"] ?? []).length === 0;
}
