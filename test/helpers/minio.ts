/**
 * Starts a throwaway MinIO server for tests: a temp data folder, random root
 * credentials, loopback ports, a fresh bucket. The binary is looked up in
 * MINIO_BIN, then PATH, then $GOPATH/bin and ~/go/bin. A missing binary is an
 * error, never a reason to skip.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** A running MinIO server with one empty bucket. */
export interface MinioServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly region: string;
  /** Kills the server and removes its data folder. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds the minio binary or throws with install instructions. */
export async function findMinio(): Promise<string> {
  const explicit = process.env.MINIO_BIN;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`minio binary not found: MINIO_BIN=${explicit} is not an executable file`);
  }
  const extra: string[] = [];
  if (process.env.GOPATH) extra.push(path.join(process.env.GOPATH, "bin", "minio"));
  extra.push(path.join(os.homedir(), "go", "bin", "minio"));
  const onPath = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, "minio"));
  for (const candidate of [...onPath, ...extra]) if (await isExecutable(candidate)) return candidate;
  throw new Error(
    "minio binary not found: install with go install github.com/minio/minio@latest or set MINIO_BIN " +
      `(looked in MINIO_BIN, PATH, ${extra.join(", ")})`,
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts MinIO and creates a bucket; rejects (with the tail of MinIO's output) when it is not ready in 30 s. */
export async function startMinio(): Promise<MinioServer> {
  const binary = await findMinio();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "restorable-minio-"));
  const port = await freePort();
  let consolePort = await freePort();
  while (consolePort === port) consolePort = await freePort();
  const accessKey = `test${randomBytes(6).toString("hex")}`;
  const secretKey = randomBytes(18).toString("hex");
  const endpoint = `http://127.0.0.1:${port}`;
  const region = "us-east-1";

  const child = spawn(
    binary,
    ["server", dataDir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
    {
      env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: "off" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.on("error", (error) => (spawnError = error));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 5000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5000);
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = false;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null) break;
    try {
      const response = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  if (!ready) {
    const why = spawnError
      ? `could not start (${spawnError.message})`
      : child.exitCode !== null
        ? `exited with code ${child.exitCode}`
        : `was not ready within ${READY_TIMEOUT_MS / 1000} s`;
    await stop();
    throw new Error(`minio (${binary}) ${why}; last output:\n${output.trim() || "(none)"}`);
  }

  const bucket = `restorable-test-${randomBytes(4).toString("hex")}`;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    await stop();
    throw new Error(`could not create bucket ${bucket} on minio at ${endpoint}: ${(error as Error).message}`, { cause: error });
  } finally {
    client.destroy();
  }
  return { endpoint, accessKey, secretKey, bucket, region, stop };
}
