/**
 * The retention policy as written in the `retention:` section of
 * restorable.yml (or built from `prune` flags): its schema, its validation
 * and its durations. Semantics: docs/retention.md. The option names and the
 * duration syntax follow restic's `forget` (restic 0.14,
 * `internal/restic/snapshot_policy.go` and `duration.go`).
 */
import { z } from "zod";
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

const COUNT_MSG = "expected a non-negative integer";
const DURATION_MSG = "expected a duration such as 7d, 36h or 1y2m3d4h (whole numbers with units y, m, d, h, each at most once)";
const ZONE_MSG = "expected an IANA time zone name such as UTC or Europe/Berlin";

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

const count = z.number({ error: COUNT_MSG }).int({ error: COUNT_MSG }).min(0, { error: COUNT_MSG });
const duration = z.string({ error: DURATION_MSG }).refine((s) => parseDuration(s) !== undefined, { error: DURATION_MSG });
const tag = z.string({ error: "expected a tag (a non-empty string)" }).min(1, { error: "expected a tag (a non-empty string)" });

/**
 * zod schema of the `retention:` section (strict: an unknown key is an
 * error). Counts are non-negative integers; durations are strings in
 * restic's syntax (see parseDuration); `keep-tag` is a list of tags (one
 * string is taken as a list of one); `group-by` defaults to `sources`;
 * `time-zone` is an IANA name, default UTC. Embeddable in the config schema.
 */
export const RetentionSchema = z.strictObject({
  "keep-last": count.optional(),
  "keep-hourly": count.optional(),
  "keep-daily": count.optional(),
  "keep-weekly": count.optional(),
  "keep-monthly": count.optional(),
  "keep-yearly": count.optional(),
  "keep-within": duration.optional(),
  "keep-within-hourly": duration.optional(),
  "keep-within-daily": duration.optional(),
  "keep-within-weekly": duration.optional(),
  "keep-within-monthly": duration.optional(),
  "keep-within-yearly": duration.optional(),
  "keep-tag": z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(tag, { error: "expected a list of tags" })).optional(),
  "group-by": z.enum(["sources", "tags", "none"], { error: 'expected one of "sources", "tags", "none"' }).optional(),
  "time-zone": z.string({ error: ZONE_MSG }).refine(isValidTimeZone, { error: ZONE_MSG }).optional(),
});

/** A validated retention policy, keys as in restorable.yml. Missing counts are 0, missing durations off. */
export type RetentionPolicy = z.infer<typeof RetentionSchema>;

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

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
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
  const result = RetentionSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => ({ field: field(fieldPrefix, [...issue.path, k]), text: `unknown key (expected one of ${POLICY_KEYS.join(", ")})` }));
    }
    const got = valueAt(data, issue.path);
    return [{ field: field(fieldPrefix, issue.path), text: `${issue.message}, got ${describe(got)}` }];
  });
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s): ${problems.slice(1, 4).map((p) => `${p.field}: ${p.text}`).join("; ")})` : "";
  throw new ConfigError(`${first.field}: ${first.text}${more}`, { field: first.field, problems });
}

/** True when no rule of `policy` can keep a snapshot (every count 0 or missing, every duration zero or missing, no keep-tag). */
export function keepsNothing(policy: RetentionPolicy): boolean {
  if (COUNT_KEYS.some((k) => (policy[k] ?? 0) > 0)) return false;
  if (WITHIN_KEYS.some((k) => { const s = policy[k]; const d = s === undefined ? undefined : parseDuration(s); return d !== undefined && !isZeroDuration(d); })) return false;
  return (policy["keep-tag"] ?? []).length === 0;
}
