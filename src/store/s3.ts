/**
 * ObjectStore on an S3 bucket (AWS S3, MinIO, and other S3-compatible
 * servers) through @aws-sdk/client-s3. Key `k` is the object `<prefix>/k`.
 *
 * Settings and why (see docs/storage.md):
 * - `requestChecksumCalculation` / `responseChecksumValidation` are
 *   `WHEN_REQUIRED`: since 3.729 the SDK sends CRC checksums by default, which
 *   several S3-compatible providers reject or mishandle.
 * - every PutObject carries Content-MD5 (the server rejects a body that does
 *   not match), since that setting drops the SDK's own upload checksum;
 *   DeleteObjects gets Content-MD5 through `withContentMd5` (MinIO demands it).
 * - create-only puts send `If-None-Match: *`; 412 PreconditionFailed and 409
 *   ConditionalRequestConflict become ObjectExistsError. Providers that ignore
 *   the header are caught by `probeCapabilities`.
 * - the SDK's own retries are off by default (`maxAttempts: 1`): RetryStore is
 *   the one retry layer, so "after N attempts" counts real requests.
 * - connection, idle-socket and whole-request timeouts are set on the Node.js
 *   HTTP handler so a dead endpoint fails instead of hanging.
 * Objects are written with one PutObject each (up to 5 GiB, S3's single-PUT
 * limit); the repository writes packs of about 16 MiB.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { ConfigError, NotFoundError, ObjectExistsError, StoreError } from "../core/errors.js";
import { mapLimit } from "../core/concurrency.js";
import { assertValidKey, assertValidPrefix } from "./keys.js";
import { assertValidRange } from "./range.js";
import { isConditionalConflict, isMissingBucket, isMissingObject, s3ErrorFacts, toStoreError } from "./s3-errors.js";
import { contentMd5, withContentMd5 } from "./s3-md5.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

/** S3's limit for one PutObject, in bytes (5 GiB). */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** DeleteObjects takes at most 1000 keys per request (S3 API reference). */
const DELETE_BATCH = 1000;

/** Options of `S3Store`. */
export interface S3StoreOptions {
  /** Bucket name. */
  readonly bucket: string;
  /** Key prefix inside the bucket without leading/trailing `/` (`""` = bucket root); segments follow the key grammar. */
  readonly prefix: string;
  /** Endpoint URL for S3-compatible servers (`http://127.0.0.1:9000`); AWS's regional endpoint when absent. */
  readonly endpoint?: string;
  /** Signing region; `us-east-1` when absent. */
  readonly region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by MinIO and most self-hosted servers. */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; when absent the SDK's default chain (env, profile, SSO, web identity, IMDS). */
  readonly credentials?: S3ClientConfig["credentials"];
  /** Time allowed to establish a TCP/TLS connection, ms (default 10 000). */
  readonly connectionTimeoutMs?: number;
  /** Time a socket may stay idle during a request, ms (default 60 000). */
  readonly socketTimeoutMs?: number;
  /** Time allowed for one whole request and response, ms (default 600 000). */
  readonly requestTimeoutMs?: number;
  /** Attempts the SDK itself makes per call (default 1: retrying is RetryStore's job). */
  readonly maxAttempts?: number;
}

/** Drops user info, query and fragment from an endpoint URL so it can appear in messages. */
function endpointLabel(endpoint: string | undefined, region: string): string {
  if (endpoint === undefined) return `https://s3.${region}.amazonaws.com`;
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return endpoint;
  }
}

/** An S3-backed store. `location` is `s3://bucket/prefix`. */
export class S3Store implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  /** Normalized prefix without leading/trailing `/` (`""` = bucket root). */
  readonly prefix: string;
  /** Endpoint as shown in messages (no credentials). */
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: boolean;
  /** The SDK client: exposed for tests and diagnostics; middleware added to it affects every call. */
  readonly client: S3Client;
  readonly #keyPrefix: string;
  #bucketConfirmed = false;

  /** @throws ConfigError for an empty bucket or an invalid prefix. */
  constructor(options: S3StoreOptions) {
    if (!options.bucket) throw new ConfigError("S3 bucket name is empty", { field: "bucket" });
    const prefix = options.prefix.replace(/^\/+|\/+$/g, "");
    if (prefix !== "") {
      try {
        assertValidKey(prefix);
      } catch (error) {
        throw new ConfigError(`invalid S3 prefix "${options.prefix}": ${(error as Error).message}`, { field: "prefix" }, { cause: error });
      }
    }
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.#keyPrefix = prefix === "" ? "" : `${prefix}/`;
    this.region = options.region ?? "us-east-1";
    this.forcePathStyle = options.forcePathStyle ?? false;
    this.endpoint = endpointLabel(options.endpoint, this.region);
    this.location = prefix === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${prefix}`;
    this.client = new S3Client({
      region: this.region,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      forcePathStyle: this.forcePathStyle,
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      followRegionRedirects: true,
      maxAttempts: options.maxAttempts ?? 1,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        socketTimeout: options.socketTimeoutMs ?? 60_000,
        requestTimeout: options.requestTimeoutMs ?? 600_000,
        throwOnRequestTimeout: true,
      },
    });
  }

  #objectKey(key: string): string {
    return this.#keyPrefix + key;
  }

  #error(error: unknown, op: string, key?: string): Error {
    return toStoreError(error, {
      op,
      ...(key !== undefined ? { key } : {}),
      endpoint: this.endpoint,
      bucket: this.bucket,
      location: this.location,
    });
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertValidKey(key);
    if (data.length > MAX_SINGLE_PUT_BYTES) {
      throw new StoreError(`object ${key} is ${data.length} bytes, above S3's single-PUT limit of ${MAX_SINGLE_PUT_BYTES}`, {
        key,
        location: this.location,
      });
    }
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.#objectKey(key),
      Body: data,
      ContentLength: data.length,
      ContentMD5: contentMd5(data),
      ContentType: "application/octet-stream",
      ...(options?.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
    });
    try {
      await this.client.send(command);
    } catch (error) {
      if (options?.ifNoneMatch && isConditionalConflict(error)) throw new ObjectExistsError(key);
      throw this.#error(error, "put", key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    assertValidKey(key);
    if (range) {
      assertValidRange(key, range);
      // An HTTP range cannot be empty: answer from HEAD so a missing key still fails.
      if (range.length === 0) {
        if (!(await this.stat(key))) throw this.#notFound(key);
        return new Uint8Array(0);
      }
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.#objectKey(key),
      ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
    });
    try {
      const response = await this.client.send(command);
      if (!response.Body) throw new StoreError(`S3 returned no body for ${key} at ${this.endpoint}`, { key }, { retryable: true });
      const bytes = await response.Body.transformToByteArray();
      if (response.ContentLength !== undefined && bytes.length !== response.ContentLength) {
        throw new StoreError(
          `S3 at ${this.endpoint} sent ${bytes.length} of ${response.ContentLength} bytes of ${key}`,
          { key, location: this.location, endpoint: this.endpoint },
          { retryable: true },
        );
      }
      return bytes;
    } catch (error) {
      const facts = s3ErrorFacts(error);
      // A range starting at or past the end: the object exists, the clipped range is empty.
      if (range && (facts.name === "InvalidRange" || facts.status === 416)) return new Uint8Array(0);
      if (isMissingObject(error)) throw this.#notFound(key, error);
      throw this.#error(error, "get", key);
    }
  }

  #notFound(key: string, cause?: unknown): NotFoundError {
    return new NotFoundError(
      `object not found: ${key} in ${this.location}`,
      { key, location: this.location, endpoint: this.endpoint },
      { cause },
    );
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (!isMissingObject(error)) throw this.#error(error, "stat", key);
      // HEAD answers 404 without a body for a missing bucket too: tell them apart once.
      await this.#confirmBucket(key);
      return undefined;
    }
  }

  /** Checks once per store that the bucket exists, so a missing bucket is not mistaken for a missing object. */
  async #confirmBucket(key: string): Promise<void> {
    if (this.#bucketConfirmed) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.#bucketConfirmed = true;
    } catch (error) {
      const { name, status } = s3ErrorFacts(error);
      if (isMissingBucket(error) || name === "NotFound" || status === 404) {
        throw this.#error(Object.assign(new Error("NoSuchBucket"), { name: "NoSuchBucket" }), "stat", key);
      }
      // Other failures (e.g. no s3:ListBucket) say nothing about the object: keep the 404.
    }
  }

  /** ListObjectsV2 returns sizes and times anyway: `list`, keys only. */
  async listKeys(prefix: string): Promise<string[]> {
    return (await this.list(prefix)).map((o) => o.key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let response;
      try {
        response = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.#keyPrefix + prefix,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw this.#error(error, "list", prefix);
      }
      for (const item of response.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(this.#keyPrefix)) continue;
        const key = item.Key.slice(this.#keyPrefix.length);
        if (!isKey(key)) continue; // objects no key can name (written by something else)
        out.push({ key, size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 });
      }
      token = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
    } catch (error) {
      if (isMissingObject(error)) return;
      throw this.#error(error, "delete", key);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    const unique = [...new Set(keys)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += DELETE_BATCH) batches.push(unique.slice(i, i + DELETE_BATCH));
    await mapLimit(batches, 4, (batch) => this.#deleteBatch(batch));
  }

  async #deleteBatch(batch: readonly string[]): Promise<void> {
    const command = withContentMd5(
      new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: batch.map((key) => ({ Key: this.#objectKey(key) })), Quiet: true },
      }),
    );
    let response;
    try {
      response = await this.client.send(command);
    } catch (error) {
      throw this.#error(error, "deleteMany", `${batch[0]} (+${batch.length - 1} more)`);
    }
    const failures = (response.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
    if (failures.length === 0) return;
    const transient = new Set(["InternalError", "SlowDown", "ServiceUnavailable"]);
    const shown = failures
      .slice(0, 5)
      .map((e) => `${(e.Key ?? "?").slice(this.#keyPrefix.length)} (${e.Code ?? "?"}: ${e.Message ?? ""})`)
      .join(", ");
    throw new StoreError(
      `S3 at ${this.endpoint} refused to delete ${failures.length} of ${batch.length} objects in ${this.location}: ${shown}`,
      { location: this.location, endpoint: this.endpoint, bucket: this.bucket, failed: failures.map((e) => e.Key) },
      { retryable: failures.every((e) => transient.has(e.Code ?? "")) },
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function isKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}
