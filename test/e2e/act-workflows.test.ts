/**
 * The starter workflows (workflows/*.yml, copied into a user's repository)
 * run end to end with act, without Docker, against a real MinIO on
 * loopback. They call this tree's reusable workflows and actions through
 * `--local-repository restorable/restorable@v1=<tree>`, which run the
 * committed bundles in dist/.
 *
 *  - `schedule`: scheduled-backup.yml puts a verified snapshot in the bucket;
 *  - `workflow_dispatch`: manual-restore.yml restores it to a folder (and a
 *    dry run writes nothing);
 *  - `pull_request`: pr-restore-drill.yml passes with a good migration and
 *    fails the workflow with a broken one.
 * Assertions are on the bucket, the restored files, exit statuses, step
 * outputs and job results read from act's JSON log.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, output, projectCopy, runAct, type ActOptions } from "../helpers/act.js";
import { CLI, ensureBuilt } from "../helpers/cli.js";
import { startMinio, type MinioServer } from "../helpers/minio.js";

const PASSWORD = "e2e-act-pw-41c7";
let minio: MinioServer;
let s3: S3Client;
let tmp: string;
let repo: string;
let base: Omit<ActOptions, "event" | "workflow">;
const logs: string[] = [];

/** Runs act and keeps its log for the secret scan. */
async function act(o: Pick<ActOptions, "event" | "workflow"> & Partial<ActOptions>): ReturnType<typeof runAct> {
  const r = await runAct({ ...base, ...o });
  // act's JSON log carries each ::add-mask:: command's argument in its own fields (its message shows ***):
  // every other entry must be free of secrets.
  logs.push(r.log.filter((e) => e.command !== "add-mask").map((e) => JSON.stringify(e)).join("\n"));
  return r;
}

const GOOD_MIGRATION = `// The pull request's migration: adds a column (node:sqlite, built into Node 24).
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(process.argv[2]);
db.exec("ALTER TABLE items ADD COLUMN note TEXT");
db.close();
`;
const BROKEN_MIGRATION = `// A broken migration: meant to add a column, it also deletes most rows.
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(process.argv[2]);
db.exec("ALTER TABLE items ADD COLUMN note TEXT; DELETE FROM items WHERE id > 1");
db.close();
`;

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** The user's repository: data, restorable.yml, a migration, and the starter workflows in .github/workflows/. */
async function makeUserRepo(dir: string): Promise<void> {
  await mkdir(join(dir, "data"), { recursive: true });
  await mkdir(join(dir, "migrations"), { recursive: true });
  await mkdir(join(dir, ".github", "workflows"), { recursive: true });
  const db = new Database(join(dir, "data", "app.sqlite"));
  db.exec("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items(name) VALUES ('a'), ('b'), ('c');");
  db.close();
  await writeFile(join(dir, "data", "settings.json"), '{"theme": "dark"}\n');
  await writeFile(join(dir, "migrations", "migrate.mjs"), GOOD_MIGRATION);
  await writeFile(join(dir, "restorable.yml"), [
    `repository: s3://${minio.bucket}/app`,
    "sources:",
    "  - name: app",
    "    path: ./data",
    "retention:",
    "  keep-last: 5",
    "drill:",
    "  checks:",
    "    - name: items survive",
    "      type: sql",
    "      db: ${sources.app}/app.sqlite",
    "      query: select count(*) from items",
    "      expect: 3",
    "    - name: integrity",
    "      type: sqlite-integrity",
    "      db: ${sources.app}/app.sqlite",
    "",
  ].join("\n"));
  for (const f of ["scheduled-backup.yml", "manual-restore.yml", "pr-restore-drill.yml"]) await cp(join(ROOT, "workflows", f), join(dir, ".github", "workflows", f));
  const git = (...args: string[]) => promisify(execFile)("git", args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: "e2e", GIT_AUTHOR_EMAIL: "e2e@example.com", GIT_COMMITTER_NAME: "e2e", GIT_COMMITTER_EMAIL: "e2e@example.com" } });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "app");
}

beforeAll(async () => {
  ensureBuilt();
  minio = await startMinio();
  s3 = new S3Client({ endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey } });
  tmp = await mkdtemp(join(tmpdir(), "restorable-e2e-"));
  repo = join(tmp, "user-repo");
  await mkdir(repo);
  await makeUserRepo(repo);
  const s3env = { AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey };
  // The repository is created once, as a user would (restorable init), with a fast scrypt cost for the test.
  await promisify(execFile)(process.execPath, [CLI, "init", "--repo", `s3://${minio.bucket}/app`], {
    env: { PATH: process.env.PATH ?? "", HOME: tmp, RESTORABLE_PASSWORD: PASSWORD, RESTORABLE_SCRYPT_N: "1024", RESTORABLE_S3_ENDPOINT: minio.endpoint, AWS_REGION: minio.region, ...s3env },
  });
  base = {
    cwd: repo,
    cacheDir: join(tmp, "act-cache"),
    project: await projectCopy(join(tmp, "restorable-project")),
    secrets: { RESTORABLE_PASSWORD: PASSWORD, ...s3env, DRILL_AWS_ACCESS_KEY_ID: minio.accessKey, DRILL_AWS_SECRET_ACCESS_KEY: minio.secretKey },
    vars: { RESTORABLE_S3_ENDPOINT: minio.endpoint },
  };
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await minio?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("starter workflows under act (no Docker, MinIO on loopback)", () => {
  let snapshotId = "";

  it("schedule: scheduled-backup.yml leaves a verified snapshot in the bucket, prunes, and checks freshness", async () => {
    const run = await act({ event: "schedule", workflow: ".github/workflows/scheduled-backup.yml" });
    expect(run.status, run.text).toBe(0);
    snapshotId = output(run, "backup", "snapshot", "snapshot-id") ?? "";
    expect(snapshotId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(await keys("app/snapshots/")).toEqual([`app/snapshots/${snapshotId}`]);
    expect(output(run, "backup", "verify", "verified")).toBe("true");
    expect(output(run, "backup", "verify", "fresh")).toBe("true");
    expect(Number(output(run, "backup", "snapshot", "bytes-added"))).toBeGreaterThan(0);
    expect(output(run, "prune", "prune", "removed-count")).toBe("0");
    expect(Object.values(run.jobs).length).toBeGreaterThanOrEqual(3);
    expect(Object.values(run.jobs).every((r) => r === "success"), JSON.stringify(run.jobs)).toBe(true);
    // verify's result is recorded on the snapshot in the bucket, next to the snapshot's own check.
    expect((await keys(`app/annotations/${snapshotId}/`)).length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it("workflow_dispatch: manual-restore.yml restores the snapshot to a folder; a dry run writes nothing", async () => {
    const dryTarget = join(tmp, "dry-restore");
    const dry = await act({ event: "workflow_dispatch", workflow: ".github/workflows/manual-restore.yml", inputs: { snapshot: "latest", target: dryTarget, "dry-run": "true" } });
    expect(dry.status, dry.text).toBe(0);
    await expect(readdir(dryTarget)).rejects.toThrow(/ENOENT/);
    const target = join(tmp, "restored");
    const run = await act({ event: "workflow_dispatch", workflow: ".github/workflows/manual-restore.yml", inputs: { snapshot: snapshotId, target, "dry-run": "false" } });
    expect(run.status, run.text).toBe(0);
    expect(output(run, "restore", "restore", "snapshot-id")).toBe(snapshotId);
    expect(output(run, "restore", "restore", "target")).toBe(target);
    const db = new Database(join(target, "app", "app.sqlite"), { readonly: true });
    expect((db.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n).toBe(3);
    db.close();
    expect((await readdir(target)).sort()).toEqual(["app", "restorable-clone.json"]);
  }, 300_000);

  it("pull_request: pr-restore-drill.yml passes with a good migration and fails the workflow with a broken one", async () => {
    const event = join(tmp, "pull_request.json");
    await writeFile(event, JSON.stringify({ number: 7, pull_request: { number: 7, head: { ref: "feature/migration", sha: "0".repeat(40) }, base: { ref: "main" } } }));
    const annotationsBefore = await keys("app/annotations/");
    const good = await act({ event: "pull_request", workflow: ".github/workflows/pr-restore-drill.yml", eventPath: event });
    expect(good.status, good.text).toBe(0);
    expect(output(good, "drill", "drill", "drill-passed")).toBe("true");
    expect(Number(output(good, "drill", "drill", "rto-seconds"))).toBeGreaterThan(0);
    expect(output(good, "drill", "drill", "checks-passed")).toBe("2");

    await writeFile(join(repo, "migrations", "migrate.mjs"), BROKEN_MIGRATION);
    const broken = await act({ event: "pull_request", workflow: ".github/workflows/pr-restore-drill.yml", eventPath: event });
    expect(broken.status).not.toBe(0);
    expect(output(broken, "drill", "drill", "drill-passed")).toBe("false");
    expect(output(broken, "drill", "drill", "checks-failed")).toBe("1");
    expect(output(broken, "drill", "drill", "error-code")).toBe("DRILL_FAILED");
    expect(Object.values(broken.jobs)).toContain("failure");
    // The gate records nothing in the repository.
    expect(await keys("app/annotations/")).toEqual(annotationsBefore);
    await writeFile(join(repo, "migrations", "migrate.mjs"), GOOD_MIGRATION);
  }, 300_000);

  it("no secret appears in act's logs (masked by the runner's ::add-mask:: handling)", () => {
    expect(logs.length).toBe(5);
    for (const log of logs) {
      expect(log.length).toBeGreaterThan(1000);
      expect(log).not.toContain(PASSWORD);
      expect(log).not.toContain(minio.secretKey);
    }
  });
});
