/**
 * The CLI against S3 (a real MinIO on loopback): the whole cycle through
 * `s3://bucket/prefix`, and the storage and source failures a user meets,
 * each with its exit status, a message naming what is wrong, and nothing
 * committed.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureBuilt } from "../helpers/cli.js";
import { expectSameTree, makeAppTree, tempDir } from "../helpers/fixtures.js";
import { startMinio, type MinioServer } from "../helpers/minio.js";

let minio: MinioServer;
let dir: { path: string; cleanup: () => Promise<void> };
let data: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = {
    PATH: process.env.PATH ?? "", HOME: dir.path, RESTORABLE_PASSWORD: "s3 password", RESTORABLE_SCRYPT_N: "1024",
    RESTORABLE_REPOSITORY: `s3://${minio.bucket}/team/app`, RESTORABLE_S3_ENDPOINT: minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey, AWS_REGION: minio.region,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("restorable CLI on S3 (MinIO)", () => {
  beforeAll(async () => {
    ensureBuilt();
    minio = await startMinio();
    dir = await tempDir();
    data = join(dir.path, "app");
    await makeAppTree(data);
  });
  afterAll(async () => {
    await minio?.stop();
    await dir?.cleanup();
  });

  it("init, snapshot, verify --read-data and restore through s3://bucket/prefix", async () => {
    expect((await cli(["init"])).code).toBe(0);
    const snap = await cli(["snapshot", data, "--json"]);
    expect(snap.code, snap.stderr).toBe(0);
    const id = JSON.parse(snap.stdout).snapshot.id as string;
    const verified = await cli(["verify", "--read-data", "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    const target = join(dir.path, "restored");
    const restored = await cli(["restore", id, "--target", target, "--verify"]);
    expect(restored.code, restored.stderr).toBe(0);
    await expectSameTree(data, join(target, "app"), (p) => p.startsWith("app.sqlite"));
  });

  it("wrong credentials: exit 9 naming the endpoint, the secret never printed, nothing written", async () => {
    const r = await cli(["snapshot", data], { AWS_SECRET_ACCESS_KEY: "not-the-secret-xyz" });
    expect(r.code).toBe(9);
    expect(r.stderr).toContain(minio.endpoint.replace(/^https?:\/\//, ""));
    expect(r.stderr).toMatch(/credentials/i);
    expect(r.stderr + r.stdout).not.toContain("not-the-secret-xyz");
    expect(JSON.parse((await cli(["snapshots", "--json"])).stdout).snapshots).toHaveLength(1);
  });

  it("missing bucket: exit 9 naming the bucket", async () => {
    const r = await cli(["snapshots"], { RESTORABLE_REPOSITORY: "s3://no-such-bucket-here/x" });
    expect(r.code).toBe(9);
    expect(r.stderr).toContain("no-such-bucket-here");
  });

  it("a corrupt declared SQLite database: exit 8 naming it, nothing committed", async () => {
    const bad = join(dir.path, "broken.sqlite");
    await writeFile(bad, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(8192, 0x5a)]));
    await writeFile(join(dir.path, "restorable.yml"), `sources:\n  - type: sqlite\n    path: ${bad}\n`);
    const r = await cli(["snapshot", "--config", join(dir.path, "restorable.yml")]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain("broken.sqlite");
    expect(JSON.parse((await cli(["snapshots", "--json"])).stdout).snapshots).toHaveLength(1);
  });

  it("a wrong password: exit 5 and nothing written to the bucket", async () => {
    const before = await cli(["snapshots", "--json"]);
    const r = await cli(["snapshot", data], { RESTORABLE_PASSWORD: "wrong" });
    expect(r.code).toBe(5);
    expect((await cli(["snapshots", "--json"])).stdout).toBe(before.stdout);
  });
});
