/**
 * The GitHub adapter's pure parts: typed inputs, secret masking forms,
 * summaries (escaping, truncation, redaction, the history chart), freshness,
 * the index-cache keys and flow, clone targets, the drill's migrate step.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionEnv, assertRepositoryInputs, loadActionConfig, readCommonInputs } from "../../src/action/common.js";
import { attachIndexCache, cacheKey, cacheKeyPrefix, type CacheBackend } from "../../src/action/cache.js";
import { historyMarkdown } from "../../src/action/history.js";
import { InputReader, inputsFrom } from "../../src/action/inputs.js";
import { drillConfig, MIGRATE_STEP, readDrillInputs } from "../../src/action/restore-drill/inputs.js";
import { maskForms, maskSecrets } from "../../src/action/secrets.js";
import { cell, observed, table, truncate } from "../../src/action/summary.js";
import { assertFresh, freshness } from "../../src/action/verify/freshness.js";
import { readPruneInputs } from "../../src/action/prune/inputs.js";
import { readCloneInputs } from "../../src/action/clone-cluster/inputs.js";
import { outputStrings } from "../../src/action/outputs.js";
import { assertIsolated, resolveTarget } from "../../src/ops/clone/target.js";
import { parseConfigText } from "../../src/config/load.js";
import { ConfigError } from "../../src/core/errors.js";
import { Repository } from "../../src/repo/repository.js";
import { MemoryStore } from "../../src/store/memory.js";

const reader = (values: Record<string, string>): InputReader => new InputReader(inputsFrom(values));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("InputReader", () => {
  it("reads booleans in the YAML 1.2 spellings and names the input and the accepted values otherwise", () => {
    expect(reader({ a: "true", b: "FALSE", c: "" }).boolean("a", false)).toBe(true);
    expect(reader({ b: "FALSE" }).boolean("b", true)).toBe(false);
    expect(reader({}).boolean("c", true)).toBe(true);
    const err = configError(() => reader({ "dry-run": "yes" }).boolean("dry-run", false));
    expect(err.message).toBe('input "dry-run": expected true or false, got "yes"');
    expect(err.details).toMatchObject({ field: "dry-run", input: "dry-run" });
  });

  it("reads choices, numbers, durations, times, percentages and lists, or names what it accepts", () => {
    expect(reader({ k: "s3" }).choice("k", ["path", "s3"] as const)).toBe("s3");
    expect(configError(() => reader({ k: "tape" }).choice("k", ["path", "s3"] as const)).message).toBe('input "k": expected one of path, s3, got "tape"');
    expect(reader({ n: "12" }).integer("n", { min: 0, max: 20 })).toBe(12);
    expect(configError(() => reader({ n: "21" }).integer("n", { min: 0, max: 20 })).message).toContain("a whole number from 0 to 20");
    expect(reader({ d: "26h" }).duration("d")).toBe(26 * 3_600_000);
    expect(reader({ d: "90" }).duration("d")).toBe(90_000);
    expect(configError(() => reader({ d: "5m" }).duration("d")).message).toContain('input "d": expected a duration such as 30s, 5min, 26h or 7d');
    expect(reader({ t: "2026-11-22T03:00:00Z" }).time("t")?.toISOString()).toBe("2026-11-22T03:00:00.000Z");
    expect(reader({ t: "2026-11-22" }).time("t")?.toISOString()).toBe("2026-11-22T00:00:00.000Z");
    expect(configError(() => reader({ t: "2026-11-22T03:00" }).time("t")).message).toContain("with a zone");
    expect(reader({ p: "10%" }).percent("p")).toBe(10);
    expect(configError(() => reader({ p: "0" }).percent("p")).message).toContain("percentage");
    expect(reader({ l: "a, b\nc\n\n" }).list("l")).toEqual(["a", "b", "c"]);
    expect(configError(() => reader({}).required("target", "a folder")).message).toBe('input "target" is required: a folder');
  });

  it("common inputs: one secret at most, an http(s) endpoint, defaults", () => {
    expect(configError(() => readCommonInputs(reader({ password: "a", key: "b" }), "/w")).message).toContain('inputs "password" and "key" were both given');
    expect(configError(() => readCommonInputs(reader({ "s3-endpoint": "minio:9000" }), "/w")).message).toContain('input "s3-endpoint": expected an http:// or https:// URL');
    expect(readCommonInputs(reader({}), "/w")).toEqual({ redact: false, summaryMaxValue: 200, indexCache: true, workingDirectory: "/w" });
  });

  it("an input secret replaces the environment's, so the input is the one used", () => {
    const inputs = readCommonInputs(reader({ key: "k", "s3-endpoint": "http://127.0.0.1:9000" }), "/w");
    const env = actionEnv(inputs, { RESTORABLE_PASSWORD: "p", RESTORABLE_PASSWORD_FILE: "/f", PATH: "/bin" });
    expect(env).toEqual({ RESTORABLE_KEY: "k", RESTORABLE_S3_ENDPOINT: "http://127.0.0.1:9000", PATH: "/bin" });
  });

  it("names the missing repository and secret inputs", () => {
    const none = readCommonInputs(reader({}), "/w");
    expect(configError(() => assertRepositoryInputs(none, {}, undefined)).message).toContain('input "repository" is required');
    expect(configError(() => assertRepositoryInputs(none, { RESTORABLE_REPOSITORY: "/r" }, undefined)).message).toContain('input "password" or "key" is required');
    expect(() => assertRepositoryInputs(none, { RESTORABLE_REPOSITORY: "/r", RESTORABLE_KEY: "x" }, undefined)).not.toThrow();
  });

  it("prune: keep-* inputs make the policy; a bad value names the input", () => {
    expect(readPruneInputs(reader({ "keep-daily": "7", "keep-tag": "release" }), "/w").policy).toEqual({ "keep-daily": 7, "keep-tag": ["release"] });
    expect(readPruneInputs(reader({}), "/w").policy).toBeUndefined();
    expect(configError(() => readPruneInputs(reader({ "keep-daily": "-1" }), "/w")).message).toMatch(/^input "keep-daily": expected a non-negative integer/);
    expect(configError(() => readPruneInputs(reader({ "keep-within": "7 days" }), "/w")).message).toMatch(/^input "keep-within": expected a duration/);
  });

  it("clone-cluster: target-time or snapshot, a target, and unsupported kinds refused", () => {
    const c = readCloneInputs(reader({ target: "out", "target-time": "2026-11-22T03:00:00Z" }), "/w", {});
    expect(c.selector).toBe("latest-before:2026-11-22T03:00:00.000Z");
    expect(c.target).toEqual({ kind: "path", dir: "/w/out" });
    expect(readCloneInputs(reader({ target: "s3://b-1/clones/x", "s3-endpoint": "http://m:9000" }), "/w", {})).toMatchObject({
      selector: "latest", target: { kind: "s3", bucket: "b-1", prefix: "clones/x" }, targetEndpoint: "http://m:9000",
    });
    expect(configError(() => readCloneInputs(reader({ target: "x", snapshot: "latest", "target-time": "2026-11-22" }), "/w", {})).message).toContain('inputs "snapshot" and "target-time"');
    expect(configError(() => readCloneInputs(reader({ target: "x", "target-kind": "postgres" }), "/w", {})).message).toBe(
      'input "target-kind": postgres clones are not supported yet (planned: PostgreSQL point-in-time clones and Kubernetes targets); use path (a folder) or s3 (plain files under an S3 prefix)',
    );
    expect(configError(() => readCloneInputs(reader({ target: "/srv/x", "target-kind": "s3" }), "/w", {})).message).toContain('input "target": "/srv/x" is not a s3 target');
  });
});

describe("clone isolation", () => {
  it("refuses targets that overlap the repository, folder or S3 prefix", () => {
    expect(() => assertIsolated(resolveTarget("/srv/backup/clone", undefined, "/"), "/srv/backup", "/")).toThrow(/overlaps the repository/);
    expect(() => assertIsolated(resolveTarget("/srv", undefined, "/"), "/srv/backup", "/")).toThrow(/overlaps/);
    expect(() => assertIsolated(resolveTarget("/srv/clone", undefined, "/"), "/srv/backup", "/")).not.toThrow();
    expect(() => assertIsolated(resolveTarget("s3://b-1/repo/clone", undefined, "/"), "s3://b-1/repo", "/")).toThrow(/overlaps/);
    expect(() => assertIsolated(resolveTarget("s3://b-1/x", undefined, "/"), "s3://b-1", "/")).toThrow(/overlaps/);
    expect(() => assertIsolated(resolveTarget("s3://b-1/repo2", undefined, "/"), "s3://b-1/repo", "/")).not.toThrow();
    expect(() => assertIsolated(resolveTarget("s3://b-2/repo", undefined, "/"), "s3://b-1/repo", "/")).not.toThrow();
    expect(() => resolveTarget("s3://b-1", undefined, "/")).toThrow(/give a prefix/);
  });
});

describe("secret masking", () => {
  it("registers the value, its lines, and both encodings of a raw key", () => {
    const hex = "ab".repeat(32);
    const forms = maskForms(hex);
    expect(forms).toContain(hex);
    expect(forms).toContain(Buffer.from(hex, "hex").toString("base64"));
    expect(maskForms("line one\nline two\n")).toEqual(expect.arrayContaining(["line one", "line two"]));
    expect(maskForms("  ")).toEqual([]);
  });

  it("masks inputs, environment secrets and the password file's content", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mask-"));
    await writeFile(join(dir, "pw"), "from-file\n");
    const masked: string[] = [];
    maskSecrets(inputsFrom({ password: "in-put" }), { AWS_SECRET_ACCESS_KEY: "aws-s", AWS_SESSION_TOKEN: "tok", RESTORABLE_PASSWORD_FILE: join(dir, "pw"), PATH: "/bin" }, (s) => masked.push(s));
    expect(masked).toEqual(expect.arrayContaining(["in-put", "aws-s", "tok", "from-file"]));
    expect(masked).not.toContain("/bin");
    await rm(dir, { recursive: true, force: true });
  });
});

describe("summaries", () => {
  it("escapes table cells and truncates or redacts observed values", () => {
    expect(cell("a|b\n<c>")).toBe("a\\|b<br>&lt;c&gt;");
    expect(table(["x", "n"], [["a|b", 1]], "lr")).toBe("| x | n |\n| --- | ---: |\n| a\\|b | 1 |");
    expect(truncate("0123456789", 4)).toBe("0123… (6 more characters)");
    expect(observed("secret row", { redact: true, maxValue: 200 })).toBe("(redacted)");
    expect(observed("secret row", { redact: false, maxValue: 6 })).toBe("secret… (4 more characters)");
    expect(observed("x", { redact: false, maxValue: 0 })).toContain("hidden");
  });

  it("charts snapshot sizes and drill RTO", () => {
    const md = historyMarkdown([
      { id: "a", time: "2026-11-20T03:17:00.000Z", bytes: 3 * 2 ** 20, bytesAdded: 2 ** 20, drillRtoMs: 4200, drillOk: true },
      { id: "b", time: "2026-11-21T03:17:00.000Z", bytes: 4 * 2 ** 20, bytesAdded: 2 ** 19 },
    ]);
    expect(md).toContain('x-axis ["11-20 03:17", "11-21 03:17"]');
    expect(md).toContain("bar [3, 4]");
    expect(md).toContain("line [1, 0.5]");
    expect(md).toContain('title "Restore drill RTO, seconds"');
    expect(md).toContain("line [4.2]");
    expect(historyMarkdown([])).toContain("No snapshots yet");
  });

  it("writes outputs as strings", () => {
    expect(outputStrings({ a: 1.23456, b: true, c: undefined, d: "x" })).toEqual({ a: "1.235", b: "true", d: "x" });
  });
});

describe("freshness", () => {
  it("is fresh within max-age, stale beyond it or without any snapshot", () => {
    const now = Date.parse("2026-11-22T12:00:00Z");
    const newest = { id: "20261122T030000Z-00000000", timeMs: Date.parse("2026-11-22T03:00:00Z") };
    expect(freshness(newest, 26 * 3_600_000, now)).toMatchObject({ fresh: true, ageMs: 9 * 3_600_000 });
    const stale = freshness(newest, 3_600_000, now);
    expect(stale.fresh).toBe(false);
    expect(() => assertFresh(stale)).toThrow(/is 9 h 0 min old, older than max-age 1 h 0 min: scheduled backups stopped/);
    expect(freshness(undefined, 1000, now).fresh).toBe(false);
    expect(() => assertFresh(freshness(undefined, 1000, now))).toThrow(/no snapshot in the repository/);
    expect(freshness(undefined, undefined, now).fresh).toBe(true);
  });
});

describe("index cache", () => {
  let repo: Repository;
  const calls: string[] = [];
  const fake = (restored: string | undefined): CacheBackend => ({
    available: () => true,
    restore: async (paths, key, restoreKeys) => {
      calls.push(`restore ${key} ${restoreKeys.join(",")} ${paths.length}`);
      return restored;
    },
    save: async (_paths, key) => void calls.push(`save ${key}`),
  });

  beforeAll(async () => {
    repo = await Repository.init(new MemoryStore(), { kind: "password", password: "p" }, { scryptN: 1024 });
  });

  it("keys by repository id and the index files; a miss is normal and saves afterwards", async () => {
    expect(cacheKey("r1", ["b", "a"])).toBe(cacheKey("r1", ["a", "b"]));
    expect(cacheKey("r1", ["a"]).startsWith(cacheKeyPrefix("r1"))).toBe(true);
    const handle = await attachIndexCache(repo, { RUNNER_TEMP: tmpdir() }, fake(undefined));
    expect(handle.report.restored).toBe("miss");
    await handle.save();
    expect(handle.report.saved).toBe(true);
    const key = cacheKey(repo.config.id, await repo.listIndexFiles());
    expect(calls).toEqual([`restore ${key} ${cacheKeyPrefix(repo.config.id)} 1`, `save ${key}`]);
  });

  it("does not save again after an exact hit, and is off without a cache service", async () => {
    calls.length = 0;
    const key = cacheKey(repo.config.id, await repo.listIndexFiles());
    const hit = await attachIndexCache(repo, {}, fake(key));
    expect(hit.report.restored).toBe("hit");
    await hit.save();
    expect(calls.filter((c) => c.startsWith("save"))).toEqual([]);
    const off = await attachIndexCache(repo, {}, { ...fake(undefined), available: () => false });
    expect(off.report.restored).toBe("off");
  });
});

describe("restore-drill inputs", () => {
  let dir: string;
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("appends migrate as the last post-restore step, and needs a drill: section", async () => {
    dir = await mkdtemp(join(tmpdir(), "drill-in-"));
    await writeFile(join(dir, "restorable.yml"), "repository: ./r\ndrill:\n  steps:\n    - {type: shell, name: fix, run: 'true'}\n  checks:\n    - {type: file, name: f, path: x}\n");
    const inputs = readDrillInputs(reader({ migrate: "node migrate.mjs ${sources.app}" }), dir);
    const loaded = await loadActionConfig(inputs.common);
    const cfg = drillConfig(inputs, loaded);
    expect(cfg.config.drill?.steps?.map((s) => s.name)).toEqual(["fix", MIGRATE_STEP]);
    expect(loaded?.config.drill?.steps?.length).toBe(1);
    const noDrill = { ...loaded!, config: parseConfigText("repository: ./r\n", "x.yml") };
    expect(configError(() => drillConfig(inputs, noDrill)).message).toContain("needs a restorable.yml with a drill: section (restorable.yml has none)");
  });
});

describe("drill summary failure lines", () => {
  it("keep what failed and hide or cut what was observed", async () => {
    const { failureLine } = await import("../../src/action/restore-drill/summary.js");
    expect(failureLine("check items failed: value == 3: got 1", { redact: true, maxValue: 200 })).toBe("check items failed: (redacted)");
    expect(failureLine("check items failed: value == 3: got 1", { redact: false, maxValue: 4 })).toBe("check items failed: valu… (13 more characters)");
    expect(failureLine("RTO 1200 ms exceeds max-rto 1000 ms", { redact: true, maxValue: 200 })).toBe("RTO 1200 ms exceeds max-rto 1000 ms");
  });
});
