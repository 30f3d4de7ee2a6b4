/**
 * Exports a restored folder as plain objects under an S3 prefix:
 * `<prefix>/<path relative to the folder>`, one object per regular file,
 * so any S3 tool (`aws s3 sync`, rclone, a browser) can fetch the clone
 * without restorable. Symlinks and empty folders are not objects and are
 * listed in the clone's metadata file instead. The client is configured like
 * the repository's S3 store (src/store/s3.ts): checksums only when required,
 * path-style addressing with a custom endpoint, credentials from the AWS
 * chain.
 */
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { StoreError } from "../../core/errors.js";
import type { Env } from "../open.js";

/** Where to export and with which endpoint. */
export interface S3ExportTarget {
  readonly bucket: string;
  readonly prefix: string;
  /** An http(s) endpoint URL (MinIO...); AWS when undefined. */
  readonly endpoint?: string;
}

/** Every regular file and symlink below `dir`, as paths relative to it (`/`-separated), sorted. */
export async function listTree(dir: string): Promise<{ files: string[]; symlinks: string[] }> {
  const files: string[] = [];
  const symlinks: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const abs = join(d, name);
      const st = await lstat(abs);
      const rel = relative(dir, abs).split(sep).join("/");
      if (st.isDirectory()) await walk(abs);
      else if (st.isSymbolicLink()) symlinks.push(rel);
      else if (st.isFile()) files.push(rel);
    }
  };
  await walk(dir);
  return { files, symlinks };
}

/**
 * Refuses a prefix that already holds objects, then uploads every regular file of `dir`.
 * @returns the number of objects written and their total size, bytes.
 * @throws ConfigError-like StoreError when the prefix is not empty; StoreError naming the endpoint when S3 fails.
 */
export async function exportToS3(dir: string, target: S3ExportTarget, env: Env, extra: Readonly<Record<string, Uint8Array>> = {}): Promise<{ objects: number; bytes: number }> {
  const { S3Client, ListObjectsV2Command } = await import("@aws-sdk/client-s3");
  const { Upload } = await import("@aws-sdk/lib-storage");
  const region = env.RESTORABLE_S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  const keyId = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const client = new S3Client({
    region,
    ...(target.endpoint ? { endpoint: target.endpoint, forcePathStyle: true } : {}),
    ...(keyId && secret ? { credentials: { accessKeyId: keyId, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 4,
  });
  const where = `s3://${target.bucket}/${target.prefix} at ${target.endpoint ?? `https://s3.${region}.amazonaws.com`}`;
  const fail = (what: string, err: unknown): StoreError =>
    new StoreError(`clone export to ${where}: ${what}: ${(err as Error).message}`, { bucket: target.bucket, prefix: target.prefix, endpoint: target.endpoint }, { cause: err });
  try {
    let listed;
    try {
      listed = await client.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: `${target.prefix}/`, MaxKeys: 1 }));
    } catch (err) {
      throw fail("cannot list the target prefix", err);
    }
    if ((listed.KeyCount ?? 0) > 0) {
      throw new StoreError(`clone export: ${where} already holds objects; a clone goes to a new, empty prefix`, { bucket: target.bucket, prefix: target.prefix });
    }
    const { files } = await listTree(dir);
    let bytes = 0;
    for (const rel of files) {
      const st = await lstat(join(dir, rel));
      try {
        await new Upload({ client, params: { Bucket: target.bucket, Key: `${target.prefix}/${rel}`, Body: createReadStream(join(dir, rel)) } }).done();
      } catch (err) {
        throw fail(`upload of ${rel} failed`, err);
      }
      bytes += st.size;
    }
    for (const [name, data] of Object.entries(extra)) {
      try {
        await new Upload({ client, params: { Bucket: target.bucket, Key: `${target.prefix}/${name}`, Body: data, ContentType: "application/json" } }).done();
      } catch (err) {
        throw fail(`upload of ${name} failed`, err);
      }
      bytes += data.length;
    }
    return { objects: files.length + Object.keys(extra).length, bytes };
  } finally {
    client.destroy();
  }
}
