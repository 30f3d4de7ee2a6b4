/**
 * ObjectStore contract: one suite, run against MemoryStore, LocalStore (temp
 * folder) and S3Store (a MinIO server started for this file, a fresh prefix per
 * test). Plus S3-only tests: request headers, prefix isolation, error mapping.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, NotFoundError, ObjectExistsError, StoreError } from "../../src/core/errors.js";
import { mapLimit } from "../../src/core/concurrency.js";
import {
  FaultyStore,
  LocalStore,
  MemoryStore,
  openStore,
  probeCapabilities,
  RetryStore,
  S3Store,
  type ObjectStore,
  type S3StoreOptions,
} from "../../src/store/index.js";
import { freePort, startMinio, type MinioServer } from "../helpers/minio.js";

let minio: MinioServer | undefined;
let starting: Promise<MinioServer> | undefined;
const fileTag = randomBytes(4).toString("hex");
let prefixCounter = 0;
const cleanups: (() => Promise<void>)[] = [];

/** Starts the file's MinIO server once, on first need (so the other adapters still run when it cannot start). */
async function ensureMinio(): Promise<void> {
  starting ??= startMinio();
  minio = await starting;
}

afterAll(async () => {
  await minio?.stop();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function server(): MinioServer {
  if (!minio) throw new Error("MinIO did not start (see the beforeAll error)");
  return minio;
}

function s3Options(overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const m = server();
  return {
    bucket: m.bucket,
    prefix: `contract-${fileTag}/t${++prefixCounter}`,
    endpoint: m.endpoint,
    region: m.region,
    forcePathStyle: true,
    credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
    ...overrides,
  };
}

function track<T extends ObjectStore>(store: T): T {
  cleanups.push(() => store.close());
  return store;
}

function bytes(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

function digest(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Adapter {
  readonly name: string;
  /** Once per suite, before the first test. */
  setup?(): Promise<void>;
  open(): Promise<ObjectStore>;
}

const adapters: Adapter[] = [
  { name: "MemoryStore", open: async () => track(new MemoryStore()) },
  {
    name: "LocalStore",
    open: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "restorable-local-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      // A root that does not exist yet: the first put must create it.
      return track(new LocalStore(path.join(dir, "repo")));
    },
  },
  { name: "S3Store", setup: ensureMinio, open: async () => track(new S3Store(s3Options())) },
];

describe.each(adapters)("ObjectStore contract: $name", (adapter) => {
  let store: ObjectStore;

  beforeAll(async () => {
    await adapter.setup?.();
  });

  beforeEach(async () => {
    store = await adapter.open();
  });

  it("round-trips binary data of 0 bytes, every byte value, and 5 MiB", async () => {
    const empty = new Uint8Array(0);
    const allValues = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = bytes(5 * 1024 * 1024);
    await store.put("data/empty", empty);
    await store.put("data/all-values", allValues);
    await store.put("data/big.bin", big);

    const gotEmpty = await store.get("data/empty");
    expect(gotEmpty).toBeInstanceOf(Uint8Array);
    expect(gotEmpty.length).toBe(0);
    expect(Array.from(await store.get("data/all-values"))).toEqual(Array.from(allValues));
    const gotBig = await store.get("data/big.bin");
    expect(gotBig.length).toBe(big.length);
    expect(digest(gotBig)).toBe(digest(big));

    expect((await store.stat("data/big.bin"))?.size).toBe(big.length);
    expect((await store.stat("data/empty"))?.size).toBe(0);
  });

  it("keeps its own copy of the bytes written", async () => {
    const data = Uint8Array.from([1, 2, 3, 4]);
    await store.put("copy/a", data);
    data[0] = 99;
    const got = await store.get("copy/a");
    expect(Array.from(got)).toEqual([1, 2, 3, 4]);
    got[1] = 77;
    expect(Array.from(await store.get("copy/a"))).toEqual([1, 2, 3, 4]);
  });

  it("reads byte ranges, clipped at the end of the object", async () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    await store.put("packs/p1", data);
    expect(Array.from(await store.get("packs/p1", { offset: 0, length: 10 }))).toEqual(Array.from(data.subarray(0, 10)));
    expect(Array.from(await store.get("packs/p1", { offset: 500, length: 123 }))).toEqual(
      Array.from(data.subarray(500, 623)),
    );
    expect(Array.from(await store.get("packs/p1", { offset: 990, length: 100 }))).toEqual(Array.from(data.subarray(990)));
    expect((await store.get("packs/p1", { offset: 1000, length: 5 })).length).toBe(0);
    expect((await store.get("packs/p1", { offset: 5000, length: 5 })).length).toBe(0);
    expect((await store.get("packs/p1", { offset: 10, length: 0 })).length).toBe(0);
    await expect(store.get("packs/missing", { offset: 0, length: 10 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get("packs/missing", { offset: 0, length: 0 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("overwrites an object with a plain put", async () => {
    await store.put("index/i1", Uint8Array.from([1, 1, 1]));
    await store.put("index/i1", Uint8Array.from([2, 2]));
    expect(Array.from(await store.get("index/i1"))).toEqual([2, 2]);
    const listed = await store.list("index/");
    expect(listed.map((o) => [o.key, o.size])).toEqual([["index/i1", 2]]);
  });

  it("creates with ifNoneMatch once and refuses a second create", async () => {
    await store.put("locks/l1", Uint8Array.from([1]), { ifNoneMatch: true });
    const conflict = store.put("locks/l1", Uint8Array.from([2]), { ifNoneMatch: true });
    await expect(conflict).rejects.toBeInstanceOf(ObjectExistsError);
    await expect(conflict).rejects.toMatchObject({ details: { key: "locks/l1" } });
    expect(Array.from(await store.get("locks/l1"))).toEqual([1]);
  });

  it("lets exactly one of ten racing create-only puts win", async () => {
    const candidates = Array.from({ length: 10 }, (_, i) => Uint8Array.from([i, i, i]));
    const results = await Promise.allSettled(candidates.map((c) => store.put("locks/race", c, { ifNoneMatch: true })));
    const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ObjectExistsError);
    const winner = candidates[winners[0] as number] as Uint8Array;
    expect(Array.from(await store.get("locks/race"))).toEqual(Array.from(winner));
  });

  it("stats present and absent objects", async () => {
    const before = Date.now();
    await store.put("snapshots/s1", bytes(42));
    const info = await store.stat("snapshots/s1");
    expect(info).toBeDefined();
    expect(info?.key).toBe("snapshots/s1");
    expect(info?.size).toBe(42);
    // Server time (S3) may drift from ours a little and is rounded to seconds.
    expect(Math.abs((info?.lastModified ?? 0) - before)).toBeLessThan(5 * 60_000);
    expect(await store.stat("snapshots/none")).toBeUndefined();
    expect(await store.stat("snapshots")).toBeUndefined();
  });

  it("lists by prefix in ascending key order", async () => {
    expect(await store.list("")).toEqual([]); // nothing written yet (a missing local folder too)
    const keys = ["a/2", "a/1", "ab/3", "b/1", "a/sub/deep/x", "a-b", "A/1", "a/10"];
    for (const key of shuffle(keys)) await store.put(key, new Uint8Array(key.length));

    expect((await store.list("a/")).map((o) => o.key)).toEqual(["a/1", "a/10", "a/2", "a/sub/deep/x"]);
    expect((await store.list("a")).map((o) => o.key)).toEqual(["a-b", "a/1", "a/10", "a/2", "a/sub/deep/x", "ab/3"]);
    expect((await store.list("a/sub/")).map((o) => o.key)).toEqual(["a/sub/deep/x"]);
    expect((await store.list("")).map((o) => o.key)).toEqual([...keys].sort());
    expect(await store.list("zzz/")).toEqual([]);
    // listKeys: the same keys in the same order, for every prefix above
    for (const prefix of ["a/", "a", "a/sub/", "", "zzz/"]) {
      expect(await store.listKeys(prefix), prefix).toEqual((await store.list(prefix)).map((o) => o.key));
    }
    const one = (await store.list("b/"))[0];
    expect(one).toMatchObject({ key: "b/1", size: 3 });
    expect(one?.lastModified).toBeGreaterThan(0);
  });

  it("lists more than 1000 keys in order, then deleteMany removes 1500 keys", async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `many/k${String(i).padStart(5, "0")}`);
    const tiny = Uint8Array.from([7]);
    await mapLimit(shuffle(keys), 32, (key) => store.put(key, tiny));
    await store.put("other/keep", tiny);

    const listed = await store.list("many/");
    expect(listed).toHaveLength(1500);
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(await store.listKeys("many/")).toEqual(keys);

    await store.deleteMany([...keys, "many/never-existed", "other/missing"]);
    expect(await store.list("many/")).toEqual([]);
    expect((await store.list("")).map((o) => o.key)).toEqual(["other/keep"]);
    await store.deleteMany([]);
  });

  it("deletes objects, and deleting a missing key is fine", async () => {
    await store.put("tmp/x", bytes(3));
    await store.delete("tmp/x");
    expect(await store.stat("tmp/x")).toBeUndefined();
    await expect(store.get("tmp/x")).rejects.toBeInstanceOf(NotFoundError);
    await store.delete("tmp/x");
    await store.delete("never/was/here");
  });

  it("throws NotFoundError naming the key for a missing object", async () => {
    const missing = store.get("snapshots/absent");
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    await expect(missing).rejects.toMatchObject({ code: "NOT_FOUND", details: { key: "snapshots/absent" } });
    await expect(missing).rejects.toThrow(/snapshots\/absent/);
  });

  it("rejects invalid keys and prefixes with ConfigError naming them", async () => {
    const bad = ["", "/abs", "a//b", "a/./b", "../escape", "a/..", "a/", "sp ace", "back\\slash", "é", "a/.tmp-x"];
    for (const key of bad) {
      await expect(store.put(key, bytes(1)), key).rejects.toBeInstanceOf(ConfigError);
      await expect(store.get(key), key).rejects.toBeInstanceOf(ConfigError);
      await expect(store.stat(key), key).rejects.toBeInstanceOf(ConfigError);
      await expect(store.delete(key), key).rejects.toBeInstanceOf(ConfigError);
    }
    await expect(store.put("a//b", bytes(1))).rejects.toThrow(/a\/\/b/);
    await store.put("good/k", bytes(1));
    await expect(store.deleteMany(["good/k", "../bad"])).rejects.toBeInstanceOf(ConfigError);
    expect(await store.stat("good/k")).toBeDefined(); // nothing deleted when one key is bad
    await expect(store.list("/x")).rejects.toBeInstanceOf(ConfigError);
    await expect(store.list("a//")).rejects.toBeInstanceOf(ConfigError);
    await expect(store.listKeys("/x")).rejects.toBeInstanceOf(ConfigError);
  });

  it("reports all capabilities in the probe and leaves nothing behind", async () => {
    const caps = await probeCapabilities(store);
    expect(caps).toMatchObject({ conditionalCreate: true, readAfterWrite: true, listAfterWrite: true, cleanedUp: true });
    expect(Date.parse(caps.probedAt)).not.toBeNaN();
    expect(await store.list("probe/")).toEqual([]);
  });
});

describe("LocalStore specifics", () => {
  it("leaves no .tmp- files behind and creates nested folders", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "restorable-local-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = new LocalStore(dir);
    await store.put("data/ab/abcdef", bytes(10));
    await store.put("data/ab/abcdef", bytes(11));
    await expect(store.put("data/ab/abcdef", bytes(1), { ifNoneMatch: true })).rejects.toBeInstanceOf(ObjectExistsError);
    expect(await readdir(path.join(dir, "data", "ab"))).toEqual(["abcdef"]);
    expect(store.location).toBe(dir);
  });

  it("removes the folders deletes empty (not top-level ones), and a put into such a folder still lands", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "restorable-local-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = new LocalStore(dir);
    const keys = ["annotations/s1/a", "annotations/s1/b", "annotations/s2/a", "snapshots/s1"];
    for (const key of keys) await store.put(key, bytes(3));
    await store.deleteMany(["annotations/s1/a", "annotations/s1/b", "snapshots/s1"]);
    expect((await readdir(path.join(dir, "annotations"))).sort()).toEqual(["s2"]);
    expect(await readdir(path.join(dir, "snapshots"))).toEqual([]); // top level: kept
    await store.delete("annotations/s2/a");
    expect(await readdir(path.join(dir, "annotations"))).toEqual([]);
    // puts racing deletes that empty (and remove) the same folder all land
    for (let round = 0; round < 20; round++) {
      await store.put("annotations/s3/old", bytes(1));
      const data = bytes(2);
      await Promise.all([store.deleteMany(["annotations/s3/old"]), store.put(`annotations/s3/new-${round}`, data)]);
      expect(await store.get(`annotations/s3/new-${round}`)).toEqual(data);
      await store.delete(`annotations/s3/new-${round}`);
    }
  });
});

describe("S3Store specifics (MinIO)", () => {
  beforeAll(ensureMinio);

  it("sends Content-MD5 and no flexible checksum on PutObject and DeleteObjects", async () => {
    const store = track(new S3Store(s3Options()));
    const seen: { command: string; headers: Record<string, string> }[] = [];
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        seen.push({ command: String(context.commandName), headers: { ...request.headers } });
        return next(args);
      },
      { step: "finalizeRequest", name: "testHeaderSpy" },
    );
    const data = bytes(1234);
    await store.put("spy/a", data);
    await store.put("spy/b", data, { ifNoneMatch: true });
    await store.deleteMany(["spy/a", "spy/b"]);
    expect(await store.list("spy/")).toEqual([]);

    const lower = (h: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
    const puts = seen.filter((s) => s.command === "PutObjectCommand").map((s) => lower(s.headers));
    expect(puts).toHaveLength(2);
    const md5 = createHash("md5").update(data).digest("base64");
    for (const h of puts) {
      expect(h["content-md5"]).toBe(md5);
      expect(Object.keys(h).filter((k) => k.startsWith("x-amz-checksum-"))).toEqual([]);
    }
    expect(puts[1]?.["if-none-match"]).toBe("*");
    const deletes = seen.filter((s) => s.command === "DeleteObjectsCommand").map((s) => lower(s.headers));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Object.keys(deletes[0] ?? {}).filter((k) => k.startsWith("x-amz-checksum-") || k.startsWith("x-amz-sdk-checksum-"))).toEqual(
      [],
    );
  });

  it("keeps keys relative to its prefix and sees nothing outside it", async () => {
    const a = track(new S3Store(s3Options()));
    const b = track(new S3Store(s3Options({ prefix: `${a.prefix}-sibling` })));
    await a.put("config", Uint8Array.from([1]));
    await b.put("config", Uint8Array.from([2]));
    expect((await a.list("")).map((o) => o.key)).toEqual(["config"]);
    expect(Array.from(await b.get("config"))).toEqual([2]);
    expect(a.location).toBe(`s3://${server().bucket}/${a.prefix}`);

    const m = server();
    const raw = new S3Client({
      endpoint: m.endpoint,
      region: m.region,
      forcePathStyle: true,
      credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
    });
    cleanups.push(async () => raw.destroy());
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: m.bucket, Prefix: `${a.prefix}/` }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`${a.prefix}/config`]);
  });

  it("says the credentials were refused, naming endpoint and bucket, without leaking the secret", async () => {
    const m = server();
    const secret = "wrong-secret-0123456789";
    const store = track(new S3Store(s3Options({ credentials: { accessKeyId: m.accessKey, secretAccessKey: secret } })));
    const error = await store.put("x", bytes(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    const e = error as StoreError;
    expect(e.message).toMatch(/credentials/);
    expect(e.message).toContain(m.endpoint);
    expect(e.message).toContain(m.bucket);
    expect(e.message).not.toContain(secret);
    expect(e.retryable).toBe(false);
    await expect(store.get("x")).rejects.toThrow(/refused the credentials/);
    const unknownKey = track(new S3Store(s3Options({ credentials: { accessKeyId: "nobody", secretAccessKey: secret } })));
    await expect(unknownKey.list("")).rejects.toThrow(/refused the credentials/);
  });

  it("names a missing bucket on put, list and stat", async () => {
    const store = track(new S3Store(s3Options({ bucket: "no-such-bucket-restorable" })));
    const message = /bucket no-such-bucket-restorable does not exist at http:\/\/127\.0\.0\.1:\d+/;
    await expect(store.put("x", bytes(1))).rejects.toThrow(message);
    await expect(store.list("")).rejects.toThrow(message);
    await expect(store.get("x")).rejects.toThrow(message);
    await expect(store.stat("x")).rejects.toThrow(message);
    await expect(store.put("x", bytes(1))).rejects.toBeInstanceOf(StoreError);
  });

  it("gives up on an unreachable endpoint after N attempts, naming the endpoint", async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const endpoint = `http://127.0.0.1:${port}`;
    const s3 = track(new S3Store(s3Options({ endpoint, connectionTimeoutMs: 1000, requestTimeoutMs: 2000 })));
    const counted = new FaultyStore(s3);
    const store = new RetryStore(counted, { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 });
    const error = await store.get("config").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    const e = error as StoreError;
    expect(e.message).toMatch(/after 3 attempts/);
    expect(e.message).toContain(endpoint);
    expect(e.details).toMatchObject({ attempts: 3, transient: true });
    expect(counted.counts.get).toBe(3);
  });

  it("is opened by openStore from an s3:// URL and the RESTORABLE_S3_* environment", async () => {
    const m = server();
    const store = track(
      openStore(`s3://${m.bucket}/open-${fileTag}/`, {
        RESTORABLE_S3_ENDPOINT: m.endpoint,
        RESTORABLE_S3_REGION: m.region,
        AWS_ACCESS_KEY_ID: m.accessKey,
        AWS_SECRET_ACCESS_KEY: m.secretKey,
      }),
    );
    expect(store.location).toBe(`s3://${m.bucket}/open-${fileTag}`);
    const data = bytes(300);
    await store.put("snapshots/one", data, { ifNoneMatch: true });
    expect(digest(await store.get("snapshots/one"))).toBe(digest(data));
    expect(await probeCapabilities(store)).toMatchObject({ conditionalCreate: true, readAfterWrite: true, listAfterWrite: true });
    await store.deleteMany(["snapshots/one"]);
    expect(await store.list("")).toEqual([]);
  });
});
