/**
 * Acceptance (issue 5, "Policy"): on generated year-long histories (gaps of
 * days and weeks, several snapshots a day, bursts within an hour, the DST
 * changes of Europe/Berlin, month ends, ISO weeks 53 and week 1 across New
 * Year), our policy keeps exactly what the real `restic forget --dry-run
 * --json` (Debian's restic 0.14) keeps, for every policy both tools have
 * and some combinations; and for every kept snapshot the rules that matched
 * (and the bucket numbers `daily #3`) agree with restic's reasons and
 * counters.
 *
 * Every snapshot is made by `restic backup --time` into one local restic
 * repository; the histories differ by path (`--group-by paths` vs our
 * grouping by sources) and by a zone tag (`--tag` selects one zone's
 * histories). restic counts hours and days in the time zone stored with each
 * snapshot's time, which is its local zone (TZ) when the snapshot was made:
 * the UTC histories are made and compared with TZ=UTC, the Berlin one with
 * TZ=Europe/Berlin against our timeZone "Europe/Berlin". The snapshots we
 * compare are read back from `restic snapshots --json`, so both tools see the
 * same instants.
 *
 * Our protections are extra: we compare the snapshots our *rules* keep
 * (reasons other than the protected ones, with no annotations), and check
 * that our whole keep set is restic's plus the newest snapshot of each
 * group (which restic keeps too under every rule but keep-tag).
 *
 * Seed: RESTORABLE_TEST_SEED replays a run (the seed is printed).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPolicy, COUNT_KEYS, PROTECTED_REASONS, WITHIN_KEYS, type RetentionPlan, type RetentionPolicy, type RetentionSnapshot } from "../../src/core/retention.js";
import { wallToInstant, wallToMs, zonedParts } from "../../src/core/zoned-time.js";
import { tempDir } from "../helpers/fixtures.js";
import { forkResticRepo, initResticRepo, mergeResticRepo, requireRestic, restic, type ResticForgetGroup, type ResticSnapshot } from "../helpers/restic.js";
import { TEST_SEED, rng } from "../helpers/random.js";

const SEED = TEST_SEED;
console.log(`retention-restic: seed ${SEED} (replay with RESTORABLE_TEST_SEED=${SEED})`);


type Zone = "UTC" | "Europe/Berlin";

/** Forks of the repository that make backups in parallel (see forkResticRepo). */
const LANES = 8;

/** One `restic backup` to make: local wall time `YYYY-MM-DD HH:MM:SS` read in zone `tz`. */
interface Planned {
  readonly wall: string;
  readonly tz: string;
  readonly instant: number;
  readonly tags: readonly string[];
}

interface HistorySpec {
  readonly name: string;
  readonly zone: Zone;
  readonly first: readonly [number, number, number];
  /** Wall time of the newest snapshot; the within thresholds are planned around it. */
  readonly last: string;
  /** Dense runs of snapshots `[from wall, to wall, step minutes, zone for restic's TZ]` (thresholds, DST changes). */
  readonly dense: readonly (readonly [string, string, number, string?])[];
}

const HISTORIES: readonly HistorySpec[] = [
  {
    // 2020 has 53 ISO weeks (2021-01-01..03 are 2020-W53); ends on 31 May: "1m" reaches back to "31 April" = 1 May.
    name: "utc-a",
    zone: "UTC",
    first: [2020, 5, 10],
    last: "2021-05-31 12:00:00",
    dense: [
      ["2020-12-31 20:00:00", "2021-01-01 04:00:00", 45],
      ["2021-04-30 11:00:00", "2021-05-01 13:00:00", 30],
      ["2021-05-24 11:00:00", "2021-05-24 13:00:00", 20],
      ["2021-05-29 23:00:00", "2021-05-30 01:00:00", 15],
      ["2021-05-27 23:00:00", "2021-05-28 01:00:00", 20],
    ],
  },
  {
    // Leap day; 2024-12-30/31 are ISO 2025-W01; ends on 31 March 2025: "1m" = 3 March, "2m15d" = 16 January.
    name: "utc-b",
    zone: "UTC",
    first: [2024, 2, 20],
    last: "2025-03-31 12:00:00",
    dense: [
      ["2024-02-28 22:00:00", "2024-03-01 02:00:00", 60],
      ["2024-12-29 20:00:00", "2025-01-01 02:00:00", 90],
      ["2025-03-03 11:00:00", "2025-03-03 13:00:00", 20],
      ["2025-01-16 11:00:00", "2025-01-16 13:00:00", 20],
      ["2024-03-31 11:00:00", "2024-03-31 13:00:00", 30],
      ["2025-03-31 09:00:00", "2025-03-31 11:40:00", 7],
    ],
  },
  {
    // DST 2023-03-26 (02:00 -> 03:00) and 2023-10-29 (03:00 CEST -> 02:00 CET); ends 31 Oct 12:00 CET, so "3d" and "7d"
    // reach back across the October change (wall-clock days of 25 hours), "1m" to "31 September" = 1 October.
    name: "berlin",
    zone: "Europe/Berlin",
    first: [2022, 11, 20],
    last: "2023-10-31 12:00:00",
    dense: [
      ["2023-03-25 22:00:00", "2023-03-26 05:00:00", 13],
      ["2023-10-28 22:00:00", "2023-10-29 01:50:00", 13],
      // The first 02:xx of 29 October (CEST, +02:00): restic's --time resolves a repeated wall time to the second one
      // (CET), so these are made with TZ=Etc/GMT-2; their stored offset +02:00 is Berlin's at that instant, so restic
      // still reads them in Europe/Berlin.
      ["2023-10-29 02:03:00", "2023-10-29 02:59:00", 11, "Etc/GMT-2"],
      ["2023-10-29 02:09:00", "2023-10-29 04:00:00", 13],
      ["2023-10-28 11:00:00", "2023-10-28 13:00:00", 15],
      ["2023-10-24 11:00:00", "2023-10-24 13:00:00", 15],
      ["2023-10-27 23:00:00", "2023-10-28 01:00:00", 20],
      ["2023-09-30 11:00:00", "2023-10-01 13:00:00", 60],
    ],
  },
];

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

function wallString(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function parseWall(wall: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(wall);
  if (!m) throw new Error(`bad wall time ${wall}`);
  return wallToMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** The instant restic's `--time wall` gives with TZ=tz (Go resolves gaps and overlaps as wallToInstant does). */
function instantOf(wall: string, tz: string): number {
  const w = parseWall(wall);
  const fixed = /^Etc\/GMT([+-])(\d+)$/.exec(tz);
  if (fixed) return w + (fixed[1] === "-" ? -1 : 1) * Number(fixed[2]) * 3_600_000;
  return wallToInstant(w, tz);
}

/** A year-long history: days with 0-4 snapshots, gaps of days and weeks, bursts within an hour, the dense runs. */
function planHistory(spec: HistorySpec, rand: () => number): Planned[] {
  const tagsFor = (): string[] => {
    const tags = [`zone-${spec.zone === "UTC" ? "utc" : "berlin"}`];
    if (rand() < 0.1) tags.push("manual");
    if (rand() < 0.05) tags.push("pre-upgrade");
    return tags;
  };
  const out = new Map<number, Planned>();
  const add = (wall: string, tz: string): void => {
    const instant = instantOf(wall, tz);
    if (!out.has(instant)) out.set(instant, { wall, tz, instant, tags: tagsFor() });
  };
  const lastInstant = instantOf(spec.last, spec.zone);
  const endDay = parseWall(spec.last.slice(0, 10) + " 00:00:00");
  let day = wallToMs(...spec.first);
  while (day <= endDay) {
    const r = rand();
    if (r < 0.015) day += (20 + Math.floor(rand() * 25)) * 86_400_000;
    else if (r < 0.07) day += (2 + Math.floor(rand() * 12)) * 86_400_000;
    else if (r < 0.5) day += 86_400_000;
    else {
      const k = r < 0.8 ? 1 : r < 0.93 ? 2 : r < 0.97 ? 3 + Math.floor(rand() * 2) : 0;
      for (let i = 0; i < k; i++) add(wallString(day + Math.floor(rand() * 86_400) * 1000), spec.zone);
      if (k === 0) {
        // A burst: several snapshots within an hour or two.
        const start = day + Math.floor(rand() * 80_000) * 1000;
        const n = 4 + Math.floor(rand() * 6);
        for (let i = 0; i < n; i++) add(wallString(start + Math.floor(rand() * 7_200) * 1000), spec.zone);
      }
      day += 86_400_000;
    }
  }
  for (const [from, to, step, tz] of spec.dense) {
    for (let t = parseWall(from); t <= parseWall(to); t += step * 60_000) add(wallString(t), tz ?? spec.zone);
  }
  add(spec.last, spec.zone);
  return [...out.values()].filter((p) => p.instant <= lastInstant).sort((a, b) => a.instant - b.instant);
}

interface Case {
  readonly label: string;
  readonly policy: RetentionPolicy;
  /** restic's --group-by (ours: the policy's group-by). */
  readonly groupBy: "paths" | "tags";
}

const POLICIES: readonly RetentionPolicy[] = [
  { "keep-last": 1 },
  { "keep-last": 37 },
  { "keep-hourly": 30 },
  { "keep-hourly": 400 },
  { "keep-daily": 7 },
  { "keep-daily": 90 },
  { "keep-daily": 1000 },
  { "keep-weekly": 4 },
  { "keep-weekly": 30 },
  { "keep-monthly": 6 },
  { "keep-monthly": 24 },
  { "keep-yearly": 1 },
  { "keep-yearly": 5 },
  { "keep-within": "36h" },
  { "keep-within": "3d" },
  { "keep-within": "7d" },
  { "keep-within": "3d12h" },
  { "keep-within": "1m" },
  { "keep-within": "2m15d" },
  { "keep-within": "1y" },
  { "keep-within-hourly": "3d" },
  { "keep-within-daily": "1m" },
  { "keep-within-daily": "7d" },
  { "keep-within-weekly": "3m" },
  { "keep-within-monthly": "1y" },
  { "keep-within-yearly": "2y" },
  { "keep-tag": ["manual"] },
  { "keep-tag": ["manual", "pre-upgrade"] },
  { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
  { "keep-last": 3, "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 12, "keep-yearly": 3 },
  { "keep-within": "10d", "keep-monthly": 6 },
  { "keep-hourly": 24, "keep-within-daily": "14d", "keep-tag": ["manual"] },
  { "keep-within-daily": "7d", "keep-within-weekly": "1m", "keep-within-monthly": "1y", "keep-yearly": 2 },
];

const CASES: readonly Case[] = [
  ...POLICIES.map((policy) => ({ label: JSON.stringify(policy), policy, groupBy: "paths" as const })),
  { label: 'group-by tags {"keep-daily":10,"keep-weekly":3}', policy: { "keep-daily": 10, "keep-weekly": 3, "group-by": "tags" }, groupBy: "tags" },
];

function resticFlags(policy: RetentionPolicy): string[] {
  const flags: string[] = [];
  for (const k of [...COUNT_KEYS, ...WITHIN_KEYS]) {
    const v = policy[k];
    if (v !== undefined) flags.push(`--${k}`, String(v));
  }
  for (const t of policy["keep-tag"] ?? []) flags.push("--keep-tag", t);
  return flags;
}

const PROTECTED = new Set<string>(Object.values(PROTECTED_REASONS));

/** A reason reduced to the rule that gave it: `daily #3` -> `daily`, `within 7d`, `daily within 1m`, `tag`. */
function ourRule(reason: string): string {
  const m = /^(last|hourly|daily|weekly|monthly|yearly) #\d+$/.exec(reason);
  if (m) return m[1]!;
  if (reason.startsWith("tag ")) return "tag";
  return reason;
}

/** restic 0.14's reasons in the same terms: `daily snapshot` -> `daily`, `has tags [x]` -> `tag`. */
function resticRule(match: string): string {
  const m = /^(last|hourly|daily|weekly|monthly|yearly) snapshot$/.exec(match);
  if (m) return m[1]!;
  if (match.startsWith("has tags")) return "tag";
  return match;
}

interface World {
  readonly repo: string;
  readonly byZone: Map<Zone, RetentionSnapshot[]>;
  readonly timeOf: Map<string, number>;
}

describe(`retention matches restic forget (seed ${SEED})`, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let world: World;

  beforeAll(async () => {
    requireRestic();
    const { stdout: version } = await restic("/nonexistent", ["version"]);
    console.log(`retention-restic: ${version.trim()}`);
    dir = await tempDir("restorable-retention-");
    const repo = join(dir.path, "repo");
    await initResticRepo(repo);
    const rand = rng(SEED);
    const jobs: { path: string; p: Planned }[] = [];
    const paths: string[] = [];
    for (const spec of HISTORIES) {
      const path = join(dir.path, "data", spec.name);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, "file.txt"), `history ${spec.name}\n`);
      paths.push(path);
      for (const p of planHistory(spec, rand)) jobs.push({ path, p });
    }
    // Store the trees once, then drop that snapshot: the lanes' backups only add snapshots.
    await restic(repo, ["backup", "-q", "--host", "h", "--tag", "seed", ...paths]);
    const seeded = JSON.parse((await restic(repo, ["snapshots", "--json"])).stdout) as ResticSnapshot[];
    await restic(repo, ["forget", "-q", ...seeded.map((s) => s.id)]);
    const started = performance.now();
    // Each backup mostly waits (restic sleeps 200 ms after taking its lock): lanes run at once even on 2 cores.
    const lanes = Array.from({ length: LANES }, (_, i) => join(dir.path, `lane-${i}`));
    await Promise.all(lanes.map((lane) => forkResticRepo(repo, lane)));
    await Promise.all(
      lanes.map(async (lane, i) => {
        for (let j = i; j < jobs.length; j += LANES) {
          const { path, p } = jobs[j]!;
          await restic(lane, ["backup", "-q", "--host", "h", "--time", p.wall, "--tag", p.tags.join(","), path], p.tz);
        }
      }),
    );
    for (const lane of lanes) await mergeResticRepo(lane, repo);
    console.log(`retention-restic: ${jobs.length} restic backups (${LANES} lanes) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const listed = JSON.parse((await restic(repo, ["snapshots", "--json"])).stdout) as ResticSnapshot[];
    expect(listed.length).toBe(jobs.length);
    const byZone = new Map<Zone, RetentionSnapshot[]>([["UTC", []], ["Europe/Berlin", []]]);
    const timeOf = new Map<string, number>();
    const seen = new Set<string>();
    for (const s of listed) {
      const path = s.paths[0]!;
      const spec = HISTORIES.find((h) => h.name === basename(path))!;
      const timeMs = Date.parse(s.time);
      // Equal times would make the order of a group (and so the kept set) depend on how each tool breaks ties.
      const key = `${path}@${timeMs}`;
      if (seen.has(key)) throw new Error(`two snapshots of ${path} at ${s.time}: the generator must avoid equal times`);
      seen.add(key);
      timeOf.set(s.id, timeMs);
      byZone.get(spec.zone)!.push({ id: s.id, timeMs, tags: s.tags ?? [], sources: [{ name: spec.name, origin: path }] });
    }
    // The planned instants (our reading of restic's --time) must be the ones restic stored: a check of the zone code too.
    const planned = new Set(jobs.map((j) => `${j.path}@${j.p.instant}`));
    expect([...seen].filter((k) => !planned.has(k))).toEqual([]);
    world = { repo, byZone, timeOf };
  }, 170_000);

  afterAll(async () => {
    await dir?.cleanup();
  });

  const describeSnap = (id: string, zone: Zone): string => {
    const t = world.timeOf.get(id)!;
    const p = zonedParts(t, zone);
    return `${id.slice(0, 8)} ${new Date(t).toISOString()} (local ${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)})`;
  };

  async function compare(zone: Zone, c: Case): Promise<void> {
    const zoneTag = zone === "UTC" ? "zone-utc" : "zone-berlin";
    const args = ["forget", "--no-lock", "--dry-run", "--json", "--tag", zoneTag, "--group-by", c.groupBy, ...resticFlags(c.policy)];
    const groups = JSON.parse((await restic(world.repo, args, zone)).stdout) as ResticForgetGroup[];
    const snaps = world.byZone.get(zone)!;
    const ours: RetentionPlan = applyPolicy(snaps, c.policy, new Map(), { timeZone: zone });

    const resticKeep = new Set(groups.flatMap((g) => (g.keep ?? []).map((s) => s.id)));
    const resticRemove = new Set(groups.flatMap((g) => (g.remove ?? []).map((s) => s.id)));
    expect(resticKeep.size + resticRemove.size).toBe(snaps.length);

    const ourRuleKept = new Map(ours.keep.filter((k) => k.reasons.some((r) => !PROTECTED.has(r))).map((k) => [k.id, k.reasons]));
    const onlyOurs = [...ourRuleKept.keys()].filter((id) => !resticKeep.has(id));
    const onlyRestic = [...resticKeep].filter((id) => !ourRuleKept.has(id));
    // restic 0.14 prints reasons[i] for keep[i] (its snapshot carries no id): pair them by position, checking the time.
    const resticWhy = new Map(
      groups.flatMap((g) =>
        (g.keep ?? []).map((k, i) => {
          const why = g.reasons?.[i];
          if (!why || why.snapshot.time !== k.time) throw new Error(`restic's reasons do not line up with its kept snapshots (${k.id})`);
          return [k.id, why] as const;
        }),
      ),
    );
    const problems: string[] = [
      ...onlyOurs.map((id) => `kept by us only: ${describeSnap(id, zone)} [${ourRuleKept.get(id)!.join(", ")}]`),
      ...onlyRestic.map((id) => `kept by restic only: ${describeSnap(id, zone)} [${resticWhy.get(id)?.matches.join(", ") ?? ""}]`),
    ];

    // Same rules matched, and the same bucket numbers (restic's counter after a snapshot is N minus our #k).
    let compared = 0;
    for (const [id, why] of resticWhy) {
      const reasons = ourRuleKept.get(id);
      if (!reasons) continue;
      compared++;
      const ourRules = reasons.filter((r) => !PROTECTED.has(r)).map(ourRule).sort().join(", ");
      const theirRules = why.matches.map(resticRule).sort().join(", ");
      if (ourRules !== theirRules) {
        problems.push(`rules differ for ${describeSnap(id, zone)}: ours [${reasons.join(", ")}], restic [${why.matches.join(", ")}]`);
      }
      for (const r of reasons) {
        const m = /^(last|hourly|daily|weekly|monthly|yearly) #(\d+)$/.exec(r);
        if (!m) continue;
        const n = c.policy[`keep-${m[1]}` as (typeof COUNT_KEYS)[number]]!;
        const left = why.counters[m[1]!] ?? 0;
        if (n - left !== Number(m[2])) problems.push(`${describeSnap(id, zone)}: ours "${r}", restic has ${left} of ${n} ${m[1]} left`);
      }
    }

    // Our whole keep set: restic's plus the newest of each group (protected).
    const newest = new Set(ours.keep.filter((k) => k.reasons.includes(PROTECTED_REASONS.newest)).map((k) => k.id));
    const expected = new Set([...resticKeep, ...newest]);
    const ourKeep = new Set(ours.keep.map((k) => k.id));
    if (ourKeep.size !== expected.size || [...ourKeep].some((id) => !expected.has(id))) problems.push("whole keep set is not restic's plus the newest of each group");
    expect(new Set(ours.remove.map((r) => r.id))).toEqual(new Set(snaps.map((s) => s.id).filter((id) => !ourKeep.has(id))));
    // restic keeps the newest of every group under every rule except keep-tag.
    if (c.policy["keep-tag"] === undefined) expect([...newest].filter((id) => !resticKeep.has(id))).toEqual([]);

    expect(problems.slice(0, 20), `${zone} ${c.label}: ${problems.length} difference(s)`).toEqual([]);
    expect(compared).toBe(resticKeep.size);
  }

  for (const zone of ["UTC", "Europe/Berlin"] as const) {
    it.each(CASES.map((c) => [c.label, c] as const))(`${zone}: %s`, async (_label, c) => {
      await compare(zone, c);
    });
  }

  it("is sensitive to the time zone: counting the Berlin history in UTC gives other buckets", async () => {
    const snaps = world.byZone.get("Europe/Berlin")!;
    const policy: RetentionPolicy = { "keep-hourly": 400, "keep-daily": 400 };
    const groups = JSON.parse((await restic(world.repo, ["forget", "--no-lock", "--dry-run", "--json", "--tag", "zone-berlin", "--group-by", "paths", ...resticFlags(policy)], "Europe/Berlin")).stdout) as ResticForgetGroup[];
    const resticKeep = groups.flatMap((g) => (g.keep ?? []).map((s) => s.id)).sort();
    const inBerlin = applyPolicy(snaps, policy, new Map(), { timeZone: "Europe/Berlin" }).keep.map((k) => k.id).sort();
    const inUtc = applyPolicy(snaps, policy, new Map(), { timeZone: "UTC" }).keep.map((k) => k.id).sort();
    expect(inBerlin).toEqual(resticKeep);
    expect(inUtc).not.toEqual(resticKeep);
  });
});
