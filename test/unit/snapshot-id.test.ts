import { describe, expect, it } from "vitest";
import { ConfigError, NotFoundError } from "../../src/core/errors.js";
import { isSnapshotId, newSnapshotId, parseIsoTime, parseSelector, parseSnapshotId, resolveSelector, type SelectableSnapshot } from "../../src/core/snapshot-id.js";

const T = Date.UTC(2026, 10, 22, 2, 44, 36); // 2026-11-22T02:44:36Z
const rnd = new Uint8Array([0x1a, 0x2b, 0x3c, 0x4d]);

describe("snapshot ids", () => {
  it("format as YYYYMMDDTHHMMSSZ-<8 hex>, UTC, milliseconds dropped", () => {
    expect(newSnapshotId(T, rnd)).toBe("20261122T024436Z-1a2b3c4d");
    expect(newSnapshotId(T + 999, rnd)).toBe("20261122T024436Z-1a2b3c4d");
    expect(newSnapshotId(0, new Uint8Array(4))).toBe("19700101T000000Z-00000000");
    expect(newSnapshotId(T)).toMatch(/^20261122T024436Z-[0-9a-f]{8}$/);
    expect(newSnapshotId(T)).not.toBe(newSnapshotId(T));
  });

  it("parse back to time and suffix", () => {
    expect(parseSnapshotId("20261122T024436Z-1a2b3c4d")).toEqual({ timeMs: T, suffix: "1a2b3c4d" });
    const id = newSnapshotId(T + 12_345_678);
    expect(parseSnapshotId(id).timeMs).toBe(Math.floor((T + 12_345_678) / 1000) * 1000);
  });

  it("sort by time as plain strings", () => {
    const times = [T, T + 1000, T + 86_400_000, T - 3_600_000, Date.UTC(2031, 0, 1), Date.UTC(1999, 11, 31, 23, 59, 59)];
    const ids = times.map((t) => newSnapshotId(t));
    const byString = [...ids].sort();
    const byTime = [...ids].sort((a, b) => parseSnapshotId(a).timeMs - parseSnapshotId(b).timeMs);
    expect(byString).toEqual(byTime);
  });

  it("reject malformed ids with ConfigError", () => {
    for (const bad of [
      "",
      "20261122T024436Z",
      "20261122T024436Z-1A2B3C4D",
      "20261122T024436Z-1a2b3c4",
      "20261122T024436-1a2b3c4d",
      "20261322T024436Z-1a2b3c4d", // month 13
      "20260230T024436Z-1a2b3c4d", // Feb 30
      "20261122T244436Z-1a2b3c4d", // hour 24
      "20261122T026036Z-1a2b3c4d", // minute 60
      "00501122T024436Z-1a2b3c4d", // year 50
      " 20261122T024436Z-1a2b3c4d",
    ]) {
      expect(() => parseSnapshotId(bad)).toThrow(ConfigError);
      expect(isSnapshotId(bad)).toBe(false);
    }
    expect(isSnapshotId("20261122T024436Z-1a2b3c4d")).toBe(true);
    expect(() => newSnapshotId(-1)).toThrow(ConfigError);
    expect(() => newSnapshotId(Number.NaN)).toThrow(ConfigError);
    expect(() => newSnapshotId(T, new Uint8Array(3))).toThrow(ConfigError);
  });
});

describe("parseIsoTime", () => {
  it("accepts extended and basic formats, offsets, fractions, dates alone", () => {
    expect(parseIsoTime("2026-11-22T02:44:36Z")).toBe(T);
    expect(parseIsoTime("2026-11-22T02:44:36.250Z")).toBe(T + 250);
    expect(parseIsoTime("2026-11-22 02:44:36Z")).toBe(T);
    expect(parseIsoTime("2026-11-22T04:44:36+02:00")).toBe(T);
    expect(parseIsoTime("2026-11-21T21:44:36-0500")).toBe(T);
    expect(parseIsoTime("2026-11-22T02:44:36")).toBe(T); // no zone = UTC
    expect(parseIsoTime("2026-11-22T02:44Z")).toBe(T - 36_000);
    expect(parseIsoTime("2026-11-22")).toBe(Date.UTC(2026, 10, 22));
    expect(parseIsoTime("20261122T024436Z")).toBe(T);
    expect(parseIsoTime("20261122")).toBe(Date.UTC(2026, 10, 22));
  });
  it("rejects the rest with ConfigError", () => {
    for (const bad of ["", "yesterday", "2026-13-01", "2026-02-29", "2026-11-22T25:00Z", "2026-11-22T02:44:36+25:00", "2026/11/22", "1700000000"]) {
      expect(() => parseIsoTime(bad), bad).toThrow(ConfigError);
    }
    expect(parseIsoTime("2024-02-29")).toBe(Date.UTC(2024, 1, 29));
  });
});

describe("parseSelector", () => {
  it("parses latest, latest-before and id prefixes", () => {
    expect(parseSelector("latest")).toEqual({ kind: "latest" });
    expect(parseSelector("latest-before:2026-11-22T02:44:36Z")).toEqual({ kind: "latest-before", timeMs: T });
    expect(parseSelector("20261122T0244")).toEqual({ kind: "id", prefix: "20261122T0244" });
    expect(parseSelector("20261122T024436Z-1a2b3c4d")).toEqual({ kind: "id", prefix: "20261122T024436Z-1a2b3c4d" });
  });
  it("rejects anything else with ConfigError naming the forms", () => {
    for (const bad of ["", "newest", "latest-before:", "latest-before:soon", "LATEST", "20261122t0244", "a".repeat(26)]) {
      expect(() => parseSelector(bad), bad).toThrow(ConfigError);
    }
    expect(() => parseSelector("newest")).toThrow(/expected "latest", "latest-before:<ISO 8601 time>", or a snapshot id/);
  });
});

describe("resolveSelector", () => {
  const snap = (iso: string, suffix: string, tags: string[] = []): SelectableSnapshot => {
    const timeMs = parseIsoTime(iso);
    return { id: newSnapshotId(timeMs, Buffer.from(suffix, "hex")), timeMs, tags };
  };
  const s1 = snap("2026-11-20T10:00:00Z", "aaaaaaaa", ["nightly"]);
  const s2 = snap("2026-11-21T10:00:00Z", "bbbbbbbb", ["nightly", "prod"]);
  const s3 = snap("2026-11-21T10:00:00Z", "cccccccc", ["manual"]); // same second as s2
  const s4 = snap("2026-11-22T10:00:00Z", "dddddddd", ["nightly"]);
  const all = [s3, s1, s4, s2]; // unsorted on purpose

  it("latest is the newest; ties in time go to the larger id", () => {
    expect(resolveSelector({ kind: "latest" }, all)).toBe(s4);
    expect(resolveSelector({ kind: "latest" }, [s2, s3])).toBe(s3);
  });

  it("latest-before:T is the newest with time <= T", () => {
    expect(resolveSelector(parseSelector("latest-before:2026-11-21T10:00:00Z"), all)).toBe(s3);
    expect(resolveSelector(parseSelector("latest-before:2026-11-21T09:59:59Z"), all)).toBe(s1);
    expect(resolveSelector(parseSelector("latest-before:2030-01-01"), all)).toBe(s4);
  });

  it("tags filter: a snapshot must carry every tag", () => {
    expect(resolveSelector({ kind: "latest" }, all, { tags: ["nightly"] })).toBe(s4);
    expect(resolveSelector({ kind: "latest" }, all, { tags: ["nightly", "prod"] })).toBe(s2);
    expect(resolveSelector(parseSelector("latest-before:2026-11-21T12:00:00Z"), all, { tags: ["nightly"] })).toBe(s2);
    expect(() => resolveSelector({ kind: "latest" }, all, { tags: ["prod", "manual"] })).toThrow(/no snapshot carries tags \[prod, manual\]/);
  });

  it("id prefixes: unique match, exact id, ambiguity lists candidates", () => {
    expect(resolveSelector(parseSelector("20261122"), all)).toBe(s4);
    expect(resolveSelector(parseSelector(s2.id), all)).toBe(s2);
    expect(resolveSelector(parseSelector("20261121T100000Z-c"), all)).toBe(s3);
    const amb = (): unknown => resolveSelector(parseSelector("20261121"), all);
    expect(amb).toThrow(ConfigError);
    expect(amb).toThrow(new RegExp(`ambiguous: it matches 2 snapshots \\(${s3.id}, ${s2.id}\\)`));
    try {
      amb();
    } catch (err) {
      expect((err as ConfigError).details.candidates).toEqual([s3.id, s2.id]);
    }
    // Tags narrow an otherwise ambiguous prefix.
    expect(resolveSelector(parseSelector("20261121"), all, { tags: ["prod"] })).toBe(s2);
  });

  it("NotFoundError lists up to 3 nearest snapshot ids by time", () => {
    const before = (): unknown => resolveSelector(parseSelector("latest-before:2026-11-01T00:00:00Z"), all);
    expect(before).toThrow(NotFoundError);
    try {
      before();
    } catch (err) {
      const e = err as NotFoundError;
      expect(e.details.nearest).toEqual([s1.id, s3.id, s2.id]);
      expect(e.message).toContain(`nearest by time: ${s1.id}, ${s3.id}, ${s2.id}`);
    }
    try {
      resolveSelector(parseSelector("20261123"), all);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).details.nearest).toEqual([s4.id, s3.id, s2.id]);
    }
    try {
      resolveSelector(parseSelector("20261120T0"), all, { tags: ["manual"] });
      expect.unreachable();
    } catch (err) {
      expect((err as NotFoundError).message).toMatch(/no snapshot matches 20261120T0 with tags \[manual\] \(nearest by time: /);
      expect((err as NotFoundError).details.nearest).toEqual([s3.id]);
    }
    expect(() => resolveSelector({ kind: "latest" }, [])).toThrow(/the repository has no snapshots/);
  });
});
