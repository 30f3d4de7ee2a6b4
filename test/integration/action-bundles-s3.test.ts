/**
 * The action bundles against S3 (a real MinIO on loopback), run from copies
 * outside the repository: a snapshot lands in the bucket; a wrong password
 * writes nothing; an unreachable endpoint is retried, then named; a clone is
 * exported as plain objects any S3 client can read; the S3 secret never
 * shows in a log or summary.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleCopies, type BundleRun } from "../helpers/action-bundle.js";
import { freePort, startMinio, type MinioServer } from "../helpers/minio.js";

const PASSWORD = "s3-bundle-pw-9d2e";
const copies = new BundleCopies();
const runs: BundleRun[] = [];
let minio: MinioServer;
let s3: S3Client;
let ws: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey, AWS_REGION: minio.region, RESTORABLE_SCRYPT_N: "1024", ...extra };
}

async function run(name: string, inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<BundleRun> {
  const r = await copies.run(name, { password: PASSWORD, "s3-endpoint": minio.endpoint, repository: `s3://${minio.bucket}/prod/app`, ...inputs }, { cwd: ws, env: env(extraEnv), timeoutMs: 180_000 });
  runs.push(r);
  return r;
}

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

const errorLine = (r: BundleRun): string => r.stdout.split("\n").find((l) => l.startsWith("::error::")) ?? `(no ::error:: line; stderr: ${r.stderr})`;

beforeAll(async () => {
  minio = await startMinio();
  s3 = new S3Client({ endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey } });
  ws = await mkdtemp(join(tmpdir(), "restorable-ws-s3-"));
  await mkdir(join(ws, "data"), { recursive: true });
  const db = new Database(join(ws, "data", "app.sqlite"));
  db.exec("CREATE TABLE items(id INTEGER PRIMARY KEY); INSERT INTO items DEFAULT VALUES; INSERT INTO items DEFAULT VALUES;");
  db.close();
  await writeFile(join(ws, "data", "readme.txt"), "plain file\n");
  await writeFile(join(ws, "restorable.yml"), "sources:\n  - name: app\n    path: ./data\ndrill:\n  checks:\n    - {name: rows, type: sql, db: '${sources.app}/app.sqlite', query: 'select count(*) from items', expect: 2}\n");
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await minio?.stop();
  await copies.cleanup();
  if (ws) await rm(ws, { recursive: true, force: true });
});

describe("action bundles on S3 (MinIO)", () => {
  it("snapshot writes a snapshot into the bucket and verify reads it back", async () => {
    const r = await run("snapshot", { init: "true" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(await keys("prod/app/snapshots/")).toEqual([`prod/app/snapshots/${r.outputs["snapshot-id"]}`]);
    const v = await run("verify", { "read-data": "true", "max-age": "10min" });
    expect(v.status, v.stdout).toBe(0);
    expect(v.outputs).toMatchObject({ verified: "true", fresh: "true", "snapshot-id": r.outputs["snapshot-id"] });
  });

  it("a wrong password fails with the documented message and writes nothing to the bucket", async () => {
    const before = await keys("");
    const r = await run("snapshot", { password: "not-the-password" });
    expect(r.status).toBe(1);
    expect(errorLine(r)).toContain("no key slot opens with the password given");
    expect(await keys("")).toEqual(before);
  });

  it("an unreachable endpoint is retried, then fails naming the endpoint", async () => {
    const port = await freePort();
    const r = await run("verify", { "s3-endpoint": `http://127.0.0.1:${port}` });
    expect(r.status).toBe(1);
    expect(r.outputs["error-code"]).toBe("STORE");
    expect(errorLine(r)).toContain(`127.0.0.1:${port}`);
    expect(errorLine(r)).toMatch(/gave up after [2-9] attempts/);
    expect(r.ms).toBeGreaterThan(1000);
  }, 120_000);

  it("clone-cluster exports plain objects under a new prefix, checked and without repository configuration", async () => {
    const r = await run("clone-cluster", { target: `s3://${minio.bucket}/clones/audit-1` });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ "drill-passed": "true", target: `s3://${minio.bucket}/clones/audit-1` });
    expect(await keys("clones/audit-1/")).toEqual(["clones/audit-1/app/app.sqlite", "clones/audit-1/app/readme.txt", "clones/audit-1/restorable-clone.json"]);
    const body = await s3.send(new GetObjectCommand({ Bucket: minio.bucket, Key: "clones/audit-1/app/readme.txt" }));
    expect(await body.Body!.transformToString()).toBe("plain file\n");
    const again = await run("clone-cluster", { target: `s3://${minio.bucket}/clones/audit-1` });
    expect(again.status).toBe(1);
    expect(errorLine(again)).toContain("already holds objects");
    const inside = await run("clone-cluster", { target: `s3://${minio.bucket}/prod/app/clone` });
    expect(errorLine(inside)).toContain("overlaps the repository");
  });

  it("the S3 secret and the password never appear in a log, output or summary", () => {
    for (const r of runs) {
      const visible = r.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::")).join("\n");
      for (const text of [visible, r.stderr, r.summary, JSON.stringify(r.outputs)]) {
        expect(text).not.toContain(minio.secretKey);
        expect(text).not.toContain(PASSWORD);
      }
      expect(r.stdout).toContain(`::add-mask::${minio.secretKey}`);
    }
  });
});
