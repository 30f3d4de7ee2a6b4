/**
 * Prune under real concurrency, as separate `restorable` processes:
 * - 20 SIGKILLs of prune at seeded points: after each the repository still
 *   verifies, and a later prune finishes the work;
 * - a seeded random soak (50 rounds) of concurrent snapshot and prune
 *   processes against S3 (MinIO): zero lost chunks.
 * Replay a failure with RESTORABLE_TEST_SEED.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repository } from "../../src/repo/repository.js";
import { prune } from "../../src/ops/prune/prune.js";
import { restore } from "../../src/ops/restore/restore.js";
import { verify } from "../../src/ops/verify/verify.js";
import { LocalStore } from "../../src/store/local.js";
import { S3Store } from "../../src/store/s3.js";
import { CLI, ensureBuilt } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { startMinio, type MinioServer } from "../helpers/minio.js";
import { TEST_SEED, rng } from "../helpers/random.js";

const SEED = TEST_SEED;


interface Run {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, ms: performance.now() - started });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every snapshot verifies byte for byte; with `restoreTo`, each also restores to its manifest hashes. */
async function expectIntact(repo: Repository, restoreTo?: string): Promise<number> {
  const manifests = await repo.listSnapshots();
  const report = await verify(repo, manifests, { readData: true, annotate: false });
  expect(report.snapshots.flatMap((s) => s.problems)).toEqual([]);
  if (restoreTo) for (const m of manifests) expect((await restore(repo, m, { target: join(restoreTo, m.id), verify: true })).verified).toBe(true);
  return manifests.length;
}

describe("prune as a process", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let minio: MinioServer | undefined;
  beforeAll(async () => {
    ensureBuilt();
    dir = await tempDir();
  });
  afterAll(async () => {
    await minio?.stop();
    await dir.cleanup();
  });

  it(`survives 20 SIGKILLs at seeded points and a later prune finishes the work (seed ${SEED})`, async () => {
    console.log(`prune kill test seed: ${SEED}`);
    const random = rng(SEED);
    const data = join(dir.path, "kill-data");
    await mkdir(data);
    const repoDir = join(dir.path, "kill-repo");
    const repo = await Repository.init(new LocalStore(repoDir), { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: 256 * 1024 });
    repo.lockTiming = { staleAfterMs: 2000, refreshEveryMs: 333 };
    // Locks of killed prunes go stale after 2 s, so the next round needs no manual unlock.
    const env = { ...process.env, RESTORABLE_REPOSITORY: repoDir, RESTORABLE_PASSWORD: "pw", RESTORABLE_LOCK_STALE_SECONDS: "2" };
    const churn = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) await writeFile(join(data, `f${Math.floor(random() * 12)}`), randomBytes(100 * 1024));
      const s = await run(["snapshot", data], env);
      expect(s.code, s.stderr).toBe(0);
    };
    const pruneArgs = ["prune", "--keep-last", "2", "--grace", "0", "--max-unused", "1%"];
    for (let i = 0; i < 12; i++) await writeFile(join(data, `f${i}`), randomBytes(100 * 1024));
    await churn();
    await churn();
    await churn();
    const timed = await run(pruneArgs, env);
    expect(timed.code, timed.stderr).toBe(0);
    // Offsets are drawn below the fastest uncut prune seen so far, so kills land inside runs even when
    // the machine is busy and run times vary.
    let fastest = timed.ms;
    let killed = 0;
    for (let round = 0; killed < 20 && round < 80; round++) {
      await churn();
      const r = await run(pruneArgs, env, Math.floor(random() * fastest * 0.95));
      if (r.signal !== "SIGKILL") {
        expect(r.code, r.stderr).toBe(0);
        fastest = Math.min(fastest, r.ms);
        continue;
      }
      killed++;
      await sleep(2100); // its exclusive lock goes stale
      await expectIntact(repo);
    }
    expect(killed).toBe(20);
    const finish = await run(pruneArgs, env);
    expect(finish.code, finish.stderr).toBe(0);
    const after = await prune(repo, { policy: { "keep-last": 2 }, graceMs: 0, maxUnused: 0.01, dryRun: true });
    expect([after.plan.forget.length, after.plan.deletePacks.length, after.plan.orphanPacks.length]).toEqual([0, 0, 0]);
    expect(await repo.store.list("locks/")).toEqual([]); // the finishing prune removed the killed ones' stale locks
    expect(await expectIntact(repo, join(dir.path, "kill-restores"))).toBe(2);
  }, 600_000);

  it(`loses no chunk in a seeded soak of concurrent snapshot and prune processes on S3 (seed ${SEED})`, async () => {
    console.log(`prune soak seed: ${SEED}`);
    const random = rng(SEED + 1);
    minio = await startMinio();
    const data = join(dir.path, "soak-data");
    await mkdir(data);
    const s3 = new S3Store({ bucket: minio.bucket, prefix: "soak", endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey } });
    const repo = await Repository.init(s3, { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: 256 * 1024 });
    const env = {
      ...process.env, RESTORABLE_REPOSITORY: `s3://${minio.bucket}/soak`, RESTORABLE_PASSWORD: "pw", RESTORABLE_S3_ENDPOINT: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey, AWS_REGION: minio.region,
    };
    for (let i = 0; i < 8; i++) await writeFile(join(data, `f${i}`), randomBytes(64 * 1024));
    const outcomes = { snapshotOk: 0, pruneOk: 0, locked: 0 };
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 2; i++) await writeFile(join(data, `f${Math.floor(random() * 8)}`), randomBytes(64 * 1024));
      const jobs: Promise<{ kind: string; r: Run }>[] = [];
      const start = (kind: string, args: string[]) => {
        const delay = Math.floor(random() * 400);
        jobs.push(sleep(delay).then(async () => ({ kind, r: await run(args, env) })));
      };
      const snapshots = 1 + Math.floor(random() * 2);
      for (let i = 0; i < snapshots; i++) start("snapshot", ["snapshot", data]);
      if (random() < 0.6) start("prune", ["prune", "--keep-last", "3", "--grace", "0", "--max-unused", "1%"]);
      for (const { kind, r } of await Promise.all(jobs)) {
        // Only two outcomes are allowed: done, or refused because of a conflicting lock.
        expect([0, 6], `${kind}: ${r.stderr}`).toContain(r.code);
        if (r.code === 6) outcomes.locked++;
        else if (kind === "snapshot") outcomes.snapshotOk++;
        else outcomes.pruneOk++;
      }
    }
    console.log(`soak: ${JSON.stringify(outcomes)}`);
    expect(outcomes.snapshotOk).toBeGreaterThan(25);
    expect(outcomes.pruneOk).toBeGreaterThan(5);
    await expectIntact(repo, join(dir.path, "soak-restores"));
  }, 900_000);
});
