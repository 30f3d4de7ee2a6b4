/**
 * Retention policy: validation errors, reasons, protections, grouping, time
 * zones (DST), ISO weeks and restic's calendar arithmetic. The comparison
 * with the real restic is test/integration/retention-restic.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, IntegrityError } from "../../src/core/errors.js";
import {
  applyPolicy,
  formatDuration,
  groupKey,
  keepsNothing,
  parseDuration,
  parsePolicy,
  type RetentionAnnotation,
  type RetentionPlan,
  type RetentionPolicy,
  type RetentionSnapshot,
} from "../../src/core/retention.js";
import { isoWeek, isValidTimeZone, subtractCalendar, wallToInstant, wallToMs, zonedParts, zoneOffsetMs } from "../../src/core/zoned-time.js";

const SOURCES = [{ name: "app", origin: "/srv/app" }];

function snap(id: string, iso: string, extra: { tags?: string[]; sources?: { name: string; origin: string }[] } = {}): RetentionSnapshot {
  return { id, timeMs: Date.parse(iso), tags: extra.tags ?? [], sources: extra.sources ?? SOURCES };
}

/** The plan as `id: reasons` lines, newest first. */
function lines(plan: RetentionPlan): { keep: string[]; remove: string[] } {
  return {
    keep: plan.keep.map((d) => `${d.id}: ${d.reasons.join(", ")}`),
    remove: plan.remove.map((d) => `${d.id}: ${d.reasons.join(", ")}`),
  };
}

function kept(plan: RetentionPlan): string[] {
  return plan.keep.map((d) => d.id);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("policy validation", () => {
  it("names an unknown key and lists the accepted ones", () => {
    const e = configError(() => parsePolicy({ "keep-dayly": 7 }));
    expect(e.message).toMatch(/^retention\.keep-dayly: unknown key \(expected one of keep-last, keep-hourly, .*keep-tag, group-by, time-zone\)$/);
    expect(e.details.field).toBe("retention.keep-dayly");
    expect(e.code).toBe("CONFIG");
  });

  it.each([
    ["keep-daily", -1, "number -1"],
    ["keep-last", 1.5, "number 1.5"],
    ["keep-weekly", "7", 'string "7"'],
    ["keep-yearly", null, "nothing"],
    ["keep-hourly", Number.POSITIVE_INFINITY, "number Infinity"],
  ])("refuses %s: %s", (key, value, got) => {
    const e = configError(() => parsePolicy({ [key]: value }));
    expect(e.message).toBe(`retention.${key}: expected a non-negative integer, got ${got}`);
    expect(e.details.field).toBe(`retention.${key}`);
  });

  it.each(["7", "d", "1w", "1d1d", "-1d", " 7d", "7d ", "1.5d", "", "7D", "1y-2m", "1234567890d"])("refuses the malformed duration %j", (text) => {
    for (const key of ["keep-within", "keep-within-daily", "keep-within-yearly"]) {
      const e = configError(() => parsePolicy({ [key]: text }));
      expect(e.message).toBe(`retention.${key}: expected a duration such as 7d, 36h or 1y2m3d4h (whole numbers with units y, m, d, h, each at most once), got string ${JSON.stringify(text)}`);
    }
  });

  it("refuses a duration given as a number", () => {
    expect(configError(() => parsePolicy({ "keep-within": 7 })).message).toMatch(/^retention\.keep-within: expected a duration .*, got number 7$/);
  });

  it("validates time-zone with Intl and group-by against its values", () => {
    expect(configError(() => parsePolicy({ "time-zone": "Mars/Olympus_Mons" })).message).toBe('retention.time-zone: expected an IANA time zone name such as UTC or Europe/Berlin, got string "Mars/Olympus_Mons"');
    expect(configError(() => parsePolicy({ "time-zone": "+02:00" })).details.field).toBe("retention.time-zone");
    expect(configError(() => parsePolicy({ "group-by": "host" })).message).toBe('retention.group-by: expected one of "sources", "tags", "none", got string "host"');
    expect(parsePolicy({ "time-zone": "Europe/Berlin", "group-by": "tags" })).toEqual({ "time-zone": "Europe/Berlin", "group-by": "tags" });
  });

  it("takes one keep-tag string as a list and refuses empty tags", () => {
    expect(parsePolicy({ "keep-tag": "manual" })).toEqual({ "keep-tag": ["manual"] });
    expect(configError(() => parsePolicy({ "keep-tag": ["ok", ""] })).message).toBe('retention.keep-tag[1]: expected a tag (a non-empty string), got string ""');
    expect(configError(() => parsePolicy({ "keep-tag": 3 })).details.field).toBe("retention.keep-tag");
  });

  it("uses the field prefix given, reports every problem, and reads null as an empty policy", () => {
    const e = configError(() => parsePolicy({ "keep-last": -2, "keep-within": "soon", extra: true }, "prune"));
    expect(e.message).toMatch(/^prune\.\S+: .* \(and 2 more problem\(s\): /);
    const fields = (e.details.problems as { field: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual(["prune.extra", "prune.keep-last", "prune.keep-within"]);
    expect(parsePolicy(null)).toEqual({});
    expect(parsePolicy(undefined)).toEqual({});
    expect(configError(() => parsePolicy([1, 2])).message).toMatch(/^retention: expected a mapping of keep-last, .*got a list$/);
  });

  it("accepts a full policy unchanged", () => {
    const full: RetentionPolicy = {
      "keep-last": 3, "keep-hourly": 24, "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6, "keep-yearly": 2,
      "keep-within": "1y2m3d4h", "keep-within-hourly": "2d", "keep-within-daily": "1m", "keep-within-weekly": "3m",
      "keep-within-monthly": "1y", "keep-within-yearly": "10y", "keep-tag": ["manual"], "group-by": "none", "time-zone": "UTC",
    };
    expect(parsePolicy(full)).toEqual(full);
  });

  it("applyPolicy validates the policy too", () => {
    const e = configError(() => applyPolicy([], { "keep-daily": -1 } as RetentionPolicy));
    expect(e.message).toBe("retention.keep-daily: expected a non-negative integer, got number -1");
    expect(configError(() => applyPolicy([], { "keep-last": 1 }, new Map(), { timeZone: "Nowhere/City" })).details.field).toBe("retention.time-zone");
  });

  it("refuses a policy that keeps nothing unless allowEmpty", () => {
    for (const p of [{}, { "keep-daily": 0, "keep-last": 0 }, { "keep-within": "0d", "keep-within-daily": "0h0d", "keep-tag": [] }, { "group-by": "none" as const }]) {
      expect(keepsNothing(parsePolicy(p))).toBe(true);
      const e = configError(() => applyPolicy([snap("a", "2024-01-01T00:00:00Z")], p));
      expect(e.message).toMatch(/^retention: the policy keeps nothing .*--allow-empty/);
      expect(e.details.field).toBe("retention");
    }
    expect(keepsNothing({ "keep-tag": ["x"] })).toBe(false);
    expect(keepsNothing({ "keep-within": "1h" })).toBe(false);
  });

  it("throws IntegrityError for a snapshot without a valid time", () => {
    expect(() => applyPolicy([{ ...snap("a", "2024-01-01T00:00:00Z"), timeMs: Number.NaN }], { "keep-last": 1 })).toThrow(IntegrityError);
  });
});

describe("durations", () => {
  it("parses restic's syntax in any order and prints it canonically", () => {
    expect(parseDuration("1y2m3d4h")).toEqual({ years: 1, months: 2, days: 3, hours: 4 });
    expect(parseDuration("4h3d")).toEqual({ years: 0, months: 0, days: 3, hours: 4 });
    expect(parseDuration("36h")).toEqual({ years: 0, months: 0, days: 0, hours: 36 });
    expect(parseDuration("1w")).toBeUndefined();
    expect(formatDuration(parseDuration("4h3d")!)).toBe("3d4h");
    expect(formatDuration(parseDuration("0d")!)).toBe("0");
  });
});

describe("rules and reasons", () => {
  const series = [
    snap("d10b", "2024-01-10T10:00:00Z"),
    snap("d10a", "2024-01-10T08:00:00Z"),
    ...[9, 8, 7, 6, 5, 4, 3, 2, 1].map((d) => snap(`d${String(d).padStart(2, "0")}`, `2024-01-${String(d).padStart(2, "0")}T10:00:00Z`)),
  ];

  it("numbers the buckets and says why each snapshot goes, newest first", () => {
    const plan = applyPolicy([...series].reverse(), { "keep-last": 2, "keep-daily": 3 });
    expect(lines(plan)).toEqual({
      keep: ["d10b: last #1, daily #1, newest of group", "d10a: last #2", "d09: daily #2", "d08: daily #3"],
      remove: ["d07", "d06", "d05", "d04", "d03", "d02", "d01"].map((id) => `${id}: matched no rule`),
    });
    expect(plan.keep.every((d) => d.group === groupKey(series[0]!, "sources"))).toBe(true);
  });

  it("keep-within keeps everything newer than the newest snapshot minus the duration (strictly newer), not now", () => {
    const plan = applyPolicy(series, { "keep-within": "2d" });
    // Newest 2024-01-10 10:00: threshold 2024-01-08 10:00, and d08 sits exactly on it.
    expect(lines(plan).keep).toEqual(["d10b: within 2d, newest of group", "d10a: within 2d", "d09: within 2d"]);
  });

  it("keep-within-<unit> keeps the newest of each bucket within the duration", () => {
    const plan = applyPolicy(series, { "keep-within-daily": "3d" });
    expect(lines(plan).keep).toEqual(["d10b: daily within 3d, newest of group", "d09: daily within 3d", "d08: daily within 3d"]);
  });

  it("keep-tag keeps snapshots with any of the tags; the newest stays protected", () => {
    const snaps = [snap("a", "2024-01-03T00:00:00Z"), snap("b", "2024-01-02T00:00:00Z", { tags: ["manual", "x"] }), snap("c", "2024-01-01T00:00:00Z", { tags: ["release"] })];
    expect(lines(applyPolicy(snaps, { "keep-tag": ["manual", "release"] })).keep).toEqual(["a: newest of group", "b: tag manual", "c: tag release"]);
  });

  it("weekly, monthly and yearly buckets: ISO weeks across New Year", () => {
    const snaps = [snap("w1-thu", "2025-01-02T12:00:00Z"), snap("w1-mon", "2024-12-30T12:00:00Z"), snap("w52-sun", "2024-12-29T12:00:00Z"), snap("w52-mon", "2024-12-23T12:00:00Z")];
    expect(lines(applyPolicy(snaps, { "keep-weekly": 2, "keep-monthly": 2, "keep-yearly": 5 })).keep).toEqual([
      "w1-thu: weekly #1, monthly #1, yearly #1, newest of group",
      "w1-mon: monthly #2, yearly #2",
      "w52-sun: weekly #2",
    ]);
  });

  it("counts buckets that hold snapshots, skipping gaps", () => {
    const snaps = [snap("a", "2024-05-20T00:00:00Z"), snap("b", "2024-02-01T00:00:00Z"), snap("c", "2023-11-11T00:00:00Z"), snap("d", "2023-11-01T00:00:00Z")];
    expect(kept(applyPolicy(snaps, { "keep-monthly": 3 }))).toEqual(["a", "b", "c"]);
  });

  it("breaks equal times by id so the result never depends on input order", () => {
    const snaps = [snap("x1", "2024-01-01T00:00:00Z"), snap("x2", "2024-01-01T00:00:00Z"), snap("x0", "2024-01-01T00:00:00Z")];
    expect(lines(applyPolicy(snaps, { "keep-last": 1 }))).toEqual(lines(applyPolicy([...snaps].reverse(), { "keep-last": 1 })));
    expect(kept(applyPolicy(snaps, { "keep-last": 1 }))).toEqual(["x2"]);
  });
});

describe("protections", () => {
  const snaps = ["a", "b", "c", "d", "e", "f"].map((id, i) => snap(id, `2024-03-${String(20 - i).padStart(2, "0")}T00:00:00Z`));
  const at = (day: number): string => `2024-04-${String(day).padStart(2, "0")}T00:00:00Z`;

  it("keeps the newest that passed verify and drill (latest annotation of each type wins) and pinned ones", () => {
    const annotations = new Map<string, RetentionAnnotation[]>([
      // b: its latest verify failed -> not "passed"; listed out of order on purpose.
      ["b", [{ type: "verify", at: at(3), ok: false }, { type: "verify", at: at(1), ok: true }]],
      ["c", [{ type: "verify", at: at(1), ok: true }, { type: "drill", at: at(2), ok: false }]],
      ["d", [{ type: "verify", at: at(1), ok: true }, { type: "drill", at: at(2), ok: true }, { type: "pin", at: at(1) }, { type: "unpin", at: at(2) }]],
      ["e", [{ type: "drill", at: at(5), ok: true }]],
      ["f", [{ type: "unpin", at: at(1) }, { type: "pin", at: at(2) }]],
    ]);
    const plan = applyPolicy(snaps, {}, annotations, { allowEmpty: true });
    expect(lines(plan)).toEqual({
      keep: ["a: newest of group", "c: last passed verify", "d: last passed drill", "f: pinned"],
      remove: ["b: matched no rule", "e: matched no rule"],
    });
  });

  it("adds protections to the reasons of snapshots a rule keeps, and takes annotations as a plain object", () => {
    const plan = applyPolicy(snaps, { "keep-last": 2 }, { b: [{ type: "verify", at: at(1), ok: true }], a: [{ type: "pin", at: at(1) }] });
    expect(lines(plan).keep).toEqual(["a: last #1, newest of group, pinned", "b: last #2, last passed verify"]);
  });

  it("ignores other annotation types and verify without ok", () => {
    const plan = applyPolicy(snaps, { "keep-last": 1 }, new Map([["c", [{ type: "verify", at: at(1) }, { type: "note", at: at(2), ok: true }]]]));
    expect(kept(plan)).toEqual(["a"]);
  });
});

describe("groups", () => {
  const db = [{ name: "db", origin: "/srv/db.sqlite" }];
  const both = [{ name: "db", origin: "/srv/db.sqlite" }, { name: "app", origin: "/srv/app" }];
  const snaps = [
    snap("app2", "2024-01-04T00:00:00Z"),
    snap("db2", "2024-01-03T00:00:00Z", { sources: db, tags: ["nightly"] }),
    snap("app1", "2024-01-02T00:00:00Z", { tags: ["nightly"] }),
    snap("db1", "2024-01-01T00:00:00Z", { sources: db }),
    snap("both1", "2023-12-31T00:00:00Z", { sources: both }),
    snap("both0", "2023-12-30T00:00:00Z", { sources: [...both].reverse() }),
  ];

  it("groups by the set of sources by default (order of sources does not matter; host is no key)", () => {
    const plan = applyPolicy(snaps, { "keep-last": 1 });
    expect(lines(plan).keep).toEqual(["app2: last #1, newest of group", "db2: last #1, newest of group", "both1: last #1, newest of group"]);
    expect(groupKey(snaps[4]!, "sources")).toBe(groupKey(snaps[5]!, "sources"));
    expect(groupKey(snaps[4]!, "sources")).toBe(JSON.stringify([["app", "/srv/app"], ["db", "/srv/db.sqlite"]]));
  });

  it("group-by none, group-by tags, and a group function", () => {
    expect(kept(applyPolicy(snaps, { "keep-last": 1, "group-by": "none" }))).toEqual(["app2"]);
    expect(kept(applyPolicy(snaps, { "keep-last": 1, "group-by": "tags" }))).toEqual(["app2", "db2"]);
    expect(kept(applyPolicy(snaps, { "keep-last": 1 }, new Map(), { group: (s) => s.id.slice(-1) }))).toEqual(["app2", "app1", "both0"]);
  });
});

describe("time zones and DST", () => {
  it("counts days in the zone: 00:30 in Berlin is the next day while still the same day in UTC", () => {
    const snaps = [snap("s3", "2023-03-25T23:30:00Z"), snap("s2", "2023-03-25T22:30:00Z"), snap("s1", "2023-03-25T21:00:00Z")];
    expect(kept(applyPolicy(snaps, { "keep-daily": 5 }))).toEqual(["s3"]);
    expect(lines(applyPolicy(snaps, { "keep-daily": 5 }, new Map(), { timeZone: "Europe/Berlin" })).keep).toEqual(["s3: daily #1, newest of group", "s2: daily #2"]);
    // The policy's own time-zone is used unless the options override it.
    expect(kept(applyPolicy(snaps, { "keep-daily": 5, "time-zone": "Europe/Berlin" }))).toEqual(["s3", "s2"]);
    expect(kept(applyPolicy(snaps, { "keep-daily": 5, "time-zone": "Europe/Berlin" }, new Map(), { timeZone: "UTC" }))).toEqual(["s3"]);
  });

  it("the repeated hour of the autumn change is one hourly bucket (as restic's local YYYYMMDDHH)", () => {
    const snaps = ["2023-10-29T00:10:00Z", "2023-10-29T00:50:00Z", "2023-10-29T01:10:00Z", "2023-10-29T01:50:00Z", "2023-10-29T02:10:00Z"].map((t, i) => snap(`h${i}`, t));
    expect(kept(applyPolicy(snaps, { "keep-hourly": 10 }, new Map(), { timeZone: "Europe/Berlin" }))).toEqual(["h4", "h3"]);
    expect(kept(applyPolicy(snaps, { "keep-hourly": 10 }))).toEqual(["h4", "h3", "h1"]);
  });

  it("the missing hour of the spring change breaks nothing", () => {
    const snaps = ["2023-03-26T00:59:59Z", "2023-03-26T01:00:00Z", "2023-03-26T01:30:00Z", "2023-03-26T02:00:00Z"].map((t, i) => snap(`g${i}`, t));
    // Local: 01:59:59 CET, 03:00 CEST, 03:30 CEST, 04:00 CEST.
    expect(kept(applyPolicy(snaps, { "keep-hourly": 10 }, new Map(), { timeZone: "Europe/Berlin" }))).toEqual(["g3", "g2", "g0"]);
  });

  it("keep-within counts days on the local calendar: 3 days back across the autumn change are 73 hours", () => {
    // Newest: 31 Oct 12:00 CET (11:00Z). 3 days earlier on the Berlin calendar: 28 Oct 12:00 CEST = 10:00Z.
    const snaps = [snap("new", "2023-10-31T11:00:00Z"), snap("in", "2023-10-28T10:00:01Z"), snap("edge", "2023-10-28T10:00:00Z"), snap("out", "2023-10-28T09:30:00Z")];
    expect(kept(applyPolicy(snaps, { "keep-within": "3d" }, new Map(), { timeZone: "Europe/Berlin" }))).toEqual(["new", "in"]);
    // In UTC the threshold is 28 Oct 11:00Z.
    expect(kept(applyPolicy(snaps, { "keep-within": "3d" }))).toEqual(["new"]);
    // Hours are exact hours: 72h back is 28 Oct 11:00Z in any zone.
    expect(kept(applyPolicy(snaps, { "keep-within": "72h" }, new Map(), { timeZone: "Europe/Berlin" }))).toEqual(["new"]);
  });

  it("months overflow as in Go's AddDate: 31 March minus 1 month is 3 March (2 March in a leap year)", () => {
    const mk = (year: number): RetentionSnapshot[] => [
      snap("new", `${year}-03-31T12:00:00Z`),
      snap("in", `${year}-03-0${year % 4 === 0 ? 2 : 3}T12:00:01Z`),
      snap("edge", `${year}-03-0${year % 4 === 0 ? 2 : 3}T12:00:00Z`),
      snap("feb", `${year}-02-28T13:00:00Z`),
    ];
    expect(kept(applyPolicy(mk(2021), { "keep-within": "1m" }))).toEqual(["new", "in"]);
    expect(kept(applyPolicy(mk(2024), { "keep-within": "1m" }))).toEqual(["new", "in"]);
  });
});

describe("zoned time", () => {
  it("ISO weeks", () => {
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2021, 1, 4)).toEqual({ year: 2021, week: 1 });
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2023, 1, 1)).toEqual({ year: 2022, week: 52 });
    expect(isoWeek(2026, 1, 1)).toEqual({ year: 2026, week: 1 });
    expect(isoWeek(2024, 2, 29)).toEqual({ year: 2024, week: 9 });
  });

  it("local parts and offsets in Berlin", () => {
    expect(zonedParts(Date.parse("2023-10-29T00:30:00Z"), "Europe/Berlin")).toMatchObject({ year: 2023, month: 10, day: 29, hour: 2, minute: 30 });
    expect(zonedParts(Date.parse("2023-10-29T01:30:00Z"), "Europe/Berlin")).toMatchObject({ hour: 2, minute: 30 });
    expect(zonedParts(Date.parse("2023-12-31T23:30:00.250Z"), "Europe/Berlin")).toEqual({ year: 2024, month: 1, day: 1, hour: 0, minute: 30, second: 0, ms: 250 });
    expect(zoneOffsetMs(Date.parse("2023-07-01T00:00:00Z"), "Europe/Berlin")).toBe(7_200_000);
    expect(zoneOffsetMs(Date.parse("2023-01-01T00:00:00Z"), "Europe/Berlin")).toBe(3_600_000);
  });

  it("resolves wall times in a gap or an overlap as Go's time.Date does", () => {
    // 02:30 on 26 March does not exist in Berlin: Go gives 03:30 CEST.
    expect(new Date(wallToInstant(wallToMs(2023, 3, 26, 2, 30), "Europe/Berlin")).toISOString()).toBe("2023-03-26T01:30:00.000Z");
    // 02:30 on 29 October happens twice: Go gives the second (CET).
    expect(new Date(wallToInstant(wallToMs(2023, 10, 29, 2, 30), "Europe/Berlin")).toISOString()).toBe("2023-10-29T01:30:00.000Z");
    expect(new Date(wallToInstant(wallToMs(2023, 6, 1, 12), "Europe/Berlin")).toISOString()).toBe("2023-06-01T10:00:00.000Z");
  });

  it("subtracts calendar durations like restic", () => {
    const t = Date.parse("2023-10-31T11:00:00Z");
    expect(new Date(subtractCalendar(t, { years: 0, months: 0, days: 3, hours: 0 }, "Europe/Berlin")).toISOString()).toBe("2023-10-28T10:00:00.000Z");
    expect(new Date(subtractCalendar(t, { years: 0, months: 0, days: 3, hours: 12 }, "Europe/Berlin")).toISOString()).toBe("2023-10-27T22:00:00.000Z");
    expect(new Date(subtractCalendar(t, { years: 1, months: 1, days: 0, hours: 0 }, "UTC")).toISOString()).toBe("2022-10-01T11:00:00.000Z");
    expect(subtractCalendar(t, { years: 999_999, months: 0, days: 0, hours: 0 }, "UTC")).toBe(-Infinity);
  });

  it("knows valid zone names", () => {
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Europe/Berlin")).toBe(true);
    expect(isValidTimeZone("America/Argentina/Buenos_Aires")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("+02:00")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });
});
