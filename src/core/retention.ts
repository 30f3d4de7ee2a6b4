/**
 * Retention: which snapshots a policy keeps and why. Pure (no clock, no
 * I/O): `prune` plans with it, `forget --dry-run` prints it.
 *
 * The keep-* rules reproduce restic's `ApplyPolicy` (restic 0.14,
 * `internal/restic/snapshot_policy.go`), checked against the real binary by
 * test/integration/retention-restic.test.ts. On top of them, some
 * snapshots are protected (kept whatever the policy says). Semantics and
 * the differences from restic: docs/retention.md.
 */
import { ConfigError, IntegrityError } from "./errors.js";
import { COUNT_KEYS, formatDuration, isZeroDuration, keepsNothing, parseDuration, parsePolicy, WITHIN_KEYS, type CountKey, type RetentionPolicy, type WithinKey } from "./retention-parse.js";
import { isoWeek, isValidTimeZone, subtractCalendar, UTC, zonedParts, type ZonedParts } from "./zoned-time.js";

// The zod schema (RetentionSchema) is not re-exported here: importing it loads zod; take it from retention-policy.js.
export { COUNT_KEYS, formatDuration, keepsNothing, parseDuration, parsePolicy, POLICY_KEYS, WITHIN_KEYS } from "./retention-parse.js";
export type { CalendarDuration, GroupBy, RetentionPolicy } from "./retention-parse.js";

/** What retention needs of a snapshot; a SnapshotManifest (src/core/manifest.ts) is one. `timeMs`: ms since the epoch. */
export interface RetentionSnapshot {
  readonly id: string;
  readonly timeMs: number;
  readonly tags: readonly string[];
  readonly sources: readonly { readonly name: string; readonly origin: string }[];
}

/** What retention reads of an annotation; an Annotation (src/repo/annotations.ts) is one. `at`: ISO 8601. */
export interface RetentionAnnotation {
  readonly type: string;
  readonly at: string;
  readonly ok?: boolean;
}

/** Annotations of each snapshot, by snapshot id (any order within a list). */
export type AnnotationsBySnapshot = ReadonlyMap<string, readonly RetentionAnnotation[]> | Readonly<Record<string, readonly RetentionAnnotation[]>>;

/** Options of applyPolicy. */
export interface ApplyOptions {
  /** IANA zone in which hours, days, ISO weeks, months and years are counted; overrides the policy's `time-zone`; default UTC. */
  readonly timeZone?: string;
  /** Group key of a snapshot; overrides the policy's `group-by`. Snapshots with equal keys form one group. */
  readonly group?: (snapshot: RetentionSnapshot) => string;
  /** Accept a policy whose rules keep nothing (then only protected snapshots stay). */
  readonly allowEmpty?: boolean;
  /** How fields are named in errors; `retention` by default. */
  readonly fieldPrefix?: string;
}

/** One snapshot's fate. `group` is the group key; `reasons` is never empty. */
export interface RetentionDecision {
  readonly id: string;
  readonly group: string;
  readonly reasons: readonly string[];
}

/** The outcome: both lists newest first (ties by id, descending). */
export interface RetentionPlan {
  readonly keep: readonly RetentionDecision[];
  readonly remove: readonly RetentionDecision[];
}

/** Reasons of the protections (kept whatever the policy says). */
export const PROTECTED_REASONS = {
  newest: "newest of group",
  verify: "last passed verify",
  drill: "last passed drill",
  pinned: "pinned",
} as const;

/** The reason of every removal. */
export const NO_RULE_REASON = "matched no rule";

type Unit = "hourly" | "daily" | "weekly" | "monthly" | "yearly";
type Bucketer = (p: ZonedParts) => number;

/** Bucket numbers as restic makes them: YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY of the local time. */
const BUCKETS: Record<Unit, Bucketer> = {
  hourly: (p) => p.year * 1_000_000 + p.month * 10_000 + p.day * 100 + p.hour,
  daily: (p) => p.year * 10_000 + p.month * 100 + p.day,
  weekly: (p) => {
    const w = isoWeek(p.year, p.month, p.day);
    return w.year * 100 + w.week;
  },
  monthly: (p) => p.year * 100 + p.month,
  yearly: (p) => p.year,
};

const COUNT_UNIT: Record<Exclude<CountKey, "keep-last">, Unit> = {
  "keep-hourly": "hourly",
  "keep-daily": "daily",
  "keep-weekly": "weekly",
  "keep-monthly": "monthly",
  "keep-yearly": "yearly",
};
const WITHIN_UNIT: Record<Exclude<WithinKey, "keep-within">, Unit> = {
  "keep-within-hourly": "hourly",
  "keep-within-daily": "daily",
  "keep-within-weekly": "weekly",
  "keep-within-monthly": "monthly",
  "keep-within-yearly": "yearly",
};

/** The group key of a snapshot for `group-by`. `sources`: its sorted (name, origin) pairs as JSON. */
export function groupKey(snapshot: RetentionSnapshot, groupBy: "sources" | "tags" | "none"): string {
  if (groupBy === "none") return "";
  if (groupBy === "tags") return JSON.stringify([...new Set(snapshot.tags)].sort());
  const pairs = snapshot.sources.map((s) => [s.name, s.origin] as const);
  pairs.sort((a, b) => (a[0] === b[0] ? cmp(a[1], b[1]) : cmp(a[0], b[0])));
  return JSON.stringify(pairs);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newestFirst(a: { timeMs: number; id: string }, b: { timeMs: number; id: string }): number {
  return b.timeMs - a.timeMs || cmp(b.id, a.id);
}

function annotationsOf(all: AnnotationsBySnapshot, id: string): readonly RetentionAnnotation[] {
  if (all instanceof Map) return (all as ReadonlyMap<string, readonly RetentionAnnotation[]>).get(id) ?? [];
  return Object.hasOwn(all, id) ? ((all as Readonly<Record<string, readonly RetentionAnnotation[]>>)[id] ?? []) : [];
}

function atMs(a: RetentionAnnotation): number {
  const t = Date.parse(a.at);
  return Number.isNaN(t) ? -Infinity : t;
}

/** The latest annotation of `list` whose type is one of `types` (by `at`; on a tie the later in the list). */
function latest(list: readonly RetentionAnnotation[], types: readonly string[]): RetentionAnnotation | undefined {
  let best: RetentionAnnotation | undefined;
  for (const a of list) if (types.includes(a.type) && (best === undefined || atMs(a) >= atMs(best))) best = a;
  return best;
}

/** True when the snapshot's latest annotation of `type` (verify or drill) says it passed. */
export function passed(list: readonly RetentionAnnotation[], type: "verify" | "drill"): boolean {
  return latest(list, [type])?.ok === true;
}

/** True when the snapshot's latest pin/unpin annotation is a pin. */
export function isPinned(list: readonly RetentionAnnotation[]): boolean {
  return latest(list, ["pin", "unpin"])?.type === "pin";
}

interface CompiledRules {
  readonly counts: readonly { readonly name: string; readonly n: number; readonly bucket: Bucketer | null }[];
  readonly within: readonly { readonly text: string; readonly d: NonNullable<ReturnType<typeof parseDuration>>; readonly unit: Unit | null }[];
  readonly tags: readonly string[];
}

function compile(policy: RetentionPolicy): CompiledRules {
  const counts = COUNT_KEYS.filter((k) => (policy[k] ?? 0) > 0).map((k) => ({
    name: k === "keep-last" ? "last" : COUNT_UNIT[k],
    n: policy[k]!,
    bucket: k === "keep-last" ? null : BUCKETS[COUNT_UNIT[k]],
  }));
  const within = WITHIN_KEYS.flatMap((k) => {
    const text = policy[k];
    const d = text === undefined ? undefined : parseDuration(text);
    if (d === undefined || isZeroDuration(d)) return [];
    return [{ text: formatDuration(d), d, unit: k === "keep-within" ? null : WITHIN_UNIT[k] }];
  });
  return { counts, within, tags: [...new Set(policy["keep-tag"] ?? [])] };
}

/** restic's rules over one group, newest first: the reasons each snapshot matched (empty: none). */
function applyRules(group: readonly RetentionSnapshot[], rules: CompiledRules, timeZone: string): string[][] {
  const newest = group[0];
  if (!newest) return [];
  // restic measures every within rule back from the newest snapshot of the group, not from now.
  const thresholds = rules.within.map((w) => subtractCalendar(newest.timeMs, w.d, timeZone));
  const countState = rules.counts.map(() => ({ last: undefined as number | undefined, used: 0 }));
  const withinLast: (number | undefined)[] = rules.within.map(() => undefined);
  return group.map((snap, nr) => {
    const reasons: string[] = [];
    let parts: ZonedParts | undefined;
    const local = (): ZonedParts => (parts ??= zonedParts(snap.timeMs, timeZone));
    for (const t of rules.tags) if (snap.tags.includes(t)) reasons.push(`tag ${t}`);
    rules.within.forEach((w, i) => {
      if (w.unit === null && snap.timeMs > thresholds[i]!) reasons.push(`within ${w.text}`);
    });
    rules.counts.forEach((c, i) => {
      const st = countState[i]!;
      if (st.used >= c.n) return;
      const val = c.bucket === null ? nr : c.bucket(local());
      if (val === st.last) return;
      st.last = val;
      st.used++;
      reasons.push(`${c.name} #${st.used}`);
    });
    rules.within.forEach((w, i) => {
      if (w.unit === null || !(snap.timeMs > thresholds[i]!)) return;
      const val = BUCKETS[w.unit](local());
      if (val === withinLast[i]) return;
      withinLast[i] = val;
      reasons.push(`${w.unit} within ${w.text}`);
    });
    return reasons;
  });
}

/**
 * Applies `policy` to `snapshots`, group by group, and says for every
 * snapshot whether it is kept and why.
 *
 * Rules (restic's `forget` semantics, docs/retention.md): within a group,
 * newest first, `keep-last N` keeps the N newest (`last #1`...); each
 * `keep-<unit> N` keeps the newest snapshot of each of the last N distinct
 * hour/day/ISO-week/month/year buckets that hold a snapshot, in
 * `timeZone` (`daily #3`); `keep-within D` keeps every snapshot newer than
 * the group's newest snapshot minus D (`within 7d`); `keep-within-<unit> D`
 * keeps the newest of each bucket within D (`daily within 1m`); `keep-tag`
 * keeps snapshots carrying one of the tags (`tag manual`). Protected, in
 * every group: the newest snapshot (`newest of group`), the newest whose
 * latest verify annotation passed (`last passed verify`), the newest whose
 * latest drill annotation passed (`last passed drill`), and every snapshot
 * whose latest pin/unpin annotation is a pin (`pinned`). Everything else is
 * removed with `matched no rule`.
 *
 * @param snapshots any order; ids unique.
 * @param annotationsBySnapshot annotations of each snapshot id (verify, drill, pin, unpin; others ignored).
 * @throws ConfigError for an invalid policy or time zone (naming the field, e.g.
 *   `retention.keep-daily: expected a non-negative integer, got number -1`), and for a
 *   policy that keeps nothing unless `options.allowEmpty`.
 * @throws IntegrityError for a snapshot whose `timeMs` is not a finite number.
 */
export function applyPolicy(snapshots: readonly RetentionSnapshot[], policy: RetentionPolicy, annotationsBySnapshot: AnnotationsBySnapshot = new Map(), options: ApplyOptions = {}): RetentionPlan {
  const prefix = options.fieldPrefix ?? "retention";
  const valid = parsePolicy(policy, prefix);
  if (!options.allowEmpty && keepsNothing(valid)) {
    throw new ConfigError(
      `${prefix}: the policy keeps nothing (every keep-* rule is 0, zero or missing), so every snapshot but the protected ones would be removed; set a keep rule, or allow an empty policy explicitly (--allow-empty)`,
      { field: prefix },
    );
  }
  const timeZone = options.timeZone ?? valid["time-zone"] ?? UTC;
  // UTC needs no check (and no Intl formatter: building the first one loads ICU's zone data, ~30 ms).
  if (timeZone !== UTC && !isValidTimeZone(timeZone)) {
    throw new ConfigError(`${prefix}.time-zone: expected an IANA time zone name such as UTC or Europe/Berlin, got ${JSON.stringify(timeZone)}`, { field: `${prefix}.time-zone` });
  }
  for (const s of snapshots) {
    if (!Number.isFinite(s.timeMs)) throw new IntegrityError(`snapshot ${s.id}: time is not a valid number (${String(s.timeMs)})`, { snapshot: s.id });
  }
  const groupBy = valid["group-by"] ?? "sources";
  const keyOf = options.group ?? ((s: RetentionSnapshot) => groupKey(s, groupBy));
  const groups = new Map<string, RetentionSnapshot[]>();
  for (const s of snapshots) {
    const k = keyOf(s);
    const list = groups.get(k);
    if (list) list.push(s);
    else groups.set(k, [s]);
  }

  const rules = compile(valid);
  const keep: RetentionDecision[] = [];
  const remove: RetentionDecision[] = [];
  const order = new Map<string, RetentionSnapshot>();
  for (const [key, members] of groups) {
    members.sort(newestFirst);
    const reasons = applyRules(members, rules, timeZone);
    const annotations = members.map((s) => annotationsOf(annotationsBySnapshot, s.id));
    reasons[0]?.push(PROTECTED_REASONS.newest);
    const lastVerified = annotations.findIndex((a) => passed(a, "verify"));
    if (lastVerified >= 0) reasons[lastVerified]!.push(PROTECTED_REASONS.verify);
    const lastDrilled = annotations.findIndex((a) => passed(a, "drill"));
    if (lastDrilled >= 0) reasons[lastDrilled]!.push(PROTECTED_REASONS.drill);
    annotations.forEach((a, i) => {
      if (isPinned(a)) reasons[i]!.push(PROTECTED_REASONS.pinned);
    });
    members.forEach((s, i) => {
      order.set(s.id, s);
      const r = reasons[i]!;
      if (r.length > 0) keep.push({ id: s.id, group: key, reasons: r });
      else remove.push({ id: s.id, group: key, reasons: [NO_RULE_REASON] });
    });
  }
  const byTime = (a: RetentionDecision, b: RetentionDecision): number => newestFirst(order.get(a.id)!, order.get(b.id)!);
  keep.sort(byTime);
  remove.sort(byTime);
  return { keep, remove };
}
