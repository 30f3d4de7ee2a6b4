/** Unit tests of the store wrappers (retry, read-only, faulty), the key grammar and openStore parsing. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, NotFoundError, ObjectExistsError, StoreError } from "../../src/core/errors.js";
import { DeferredStore } from "../../src/store/deferred.js";
import {
  assertValidKey,
  FaultyStore,
  LocalStore,
  MemoryStore,
  openStore,
  probeCapabilities,
  ReadOnlyStore,
  RetryStore,
  S3Store,
  type ObjectStore,
} from "../../src/store/index.js";

const transient = (): StoreError =>
  new StoreError("S3 endpoint http://s3.test:9000 failed transiently (ECONNRESET)", { endpoint: "http://s3.test:9000" }, { retryable: true });

const fast = { minTimeoutMs: 1, maxTimeoutMs: 2 };

describe("RetryStore", () => {
  it("retries retryable errors and succeeds when they stop", async () => {
    const inner = new MemoryStore();
    await inner.put("k", Uint8Array.from([5]));
    const faulty = new FaultyStore(inner, (op) => {
      if (op.name === "get" && op.nth <= 2) throw transient();
    });
    const store = new RetryStore(faulty, { retries: 3, ...fast });
    expect(Array.from(await store.get("k"))).toEqual([5]);
    expect(faulty.counts.get).toBe(3);
  });

  it("gives up after retries + 1 attempts with a message saying so and naming the endpoint and location", async () => {
    const faulty = new FaultyStore(new MemoryStore("retry"), () => {
      throw transient();
    });
    const store = new RetryStore(faulty, { retries: 4, ...fast });
    const error = (await store.list("").catch((e: unknown) => e)) as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error.message).toMatch(/after 5 attempts/);
    expect(error.message).toContain("http://s3.test:9000");
    expect(error.message).toContain("memory:retry");
    expect(error.details).toMatchObject({ attempts: 5, endpoint: "http://s3.test:9000" });
    expect(error.cause).toBeInstanceOf(StoreError);
    expect(faulty.counts.list).toBe(5);
  });

  it("does not retry non-retryable StoreError, NotFoundError or ObjectExistsError", async () => {
    const inner = new MemoryStore();
    await inner.put("exists", Uint8Array.from([1]));
    const faulty = new FaultyStore(inner, (op) => {
      if (op.name === "stat") throw new StoreError("credentials refused", {}, { retryable: false });
    });
    const store = new RetryStore(faulty, { retries: 5, ...fast });

    await expect(store.stat("x")).rejects.toThrow("credentials refused");
    expect(faulty.counts.stat).toBe(1);
    await expect(store.get("missing")).rejects.toBeInstanceOf(NotFoundError);
    expect(faulty.counts.get).toBe(1);
    await expect(store.put("exists", Uint8Array.from([2]), { ifNoneMatch: true })).rejects.toBeInstanceOf(ObjectExistsError);
    expect(faulty.counts.put).toBe(1);
  });

  it("treats a retried create-only put that finds its own bytes as done, and someone else's as a conflict", async () => {
    // The first attempt stores the object, then "loses" the response.
    class LostResponse extends MemoryStore {
      lose = true;
      override async put(key: string, data: Uint8Array, options?: { ifNoneMatch?: boolean }): Promise<void> {
        await super.put(key, data, options);
        if (this.lose) {
          this.lose = false;
          throw transient();
        }
      }
    }
    const inner = new LostResponse();
    const store = new RetryStore(inner, { retries: 2, ...fast });
    await store.put("locks/a", Uint8Array.from([1, 2, 3]), { ifNoneMatch: true });
    expect(Array.from(await inner.get("locks/a"))).toEqual([1, 2, 3]);

    await inner.put("locks/b", Uint8Array.from([9]));
    const racing = new FaultyStore(inner, (op) => {
      if (op.name === "put" && op.nth === 1) throw transient();
    });
    const store2 = new RetryStore(racing, { retries: 2, ...fast });
    await expect(store2.put("locks/b", Uint8Array.from([1]), { ifNoneMatch: true })).rejects.toBeInstanceOf(ObjectExistsError);
  });
});

describe("ReadOnlyStore", () => {
  it("refuses put, delete and deleteMany and lets reads through", async () => {
    const inner = new MemoryStore("ro");
    await inner.put("snapshots/s1", Uint8Array.from([1, 2]));
    const store = new ReadOnlyStore(inner);

    for (const attempt of [
      () => store.put("snapshots/s2", Uint8Array.from([3])),
      () => store.delete("snapshots/s1"),
      () => store.deleteMany(["snapshots/s1"]),
    ]) {
      const error = (await attempt().catch((e: unknown) => e)) as StoreError;
      expect(error).toBeInstanceOf(StoreError);
      expect(error.details.readOnly).toBe(true);
      expect(error.message).toMatch(/^repository is opened read-only \(memory:ro\): refused to write snapshots\/s/);
    }
    expect((await inner.list("")).map((o) => o.key)).toEqual(["snapshots/s1"]);
    expect(Array.from(await store.get("snapshots/s1"))).toEqual([1, 2]);
    expect(Array.from(await store.get("snapshots/s1", { offset: 1, length: 1 }))).toEqual([2]);
    expect((await store.stat("snapshots/s1"))?.size).toBe(2);
    expect((await store.list("snapshots/")).length).toBe(1);
    await expect(probeCapabilities(store)).rejects.toMatchObject({ details: { readOnly: true } });
  });
});

describe("FaultyStore", () => {
  it("injects errors from the hook without reaching the inner store", async () => {
    const inner = new MemoryStore();
    const store = new FaultyStore(inner);
    store.onOperation = (op) => {
      if (op.name === "put" && op.key === "data/bad") throw new StoreError("injected", { key: op.key });
    };
    await store.put("data/good", Uint8Array.from([1]));
    await expect(store.put("data/bad", Uint8Array.from([1]))).rejects.toThrow("injected");
    expect(await inner.stat("data/bad")).toBeUndefined();
    expect(store.counts.put).toBe(2);
  });

  it("pauses an operation on a promise until the test releases it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const store = new FaultyStore(new MemoryStore(), async (op) => {
      seen.push(`${op.name}:${op.key}`);
      if (op.name === "put") await gate;
    });
    let done = false;
    const pending = store.put("locks/x", Uint8Array.from([1])).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(await store.stat("locks/x")).toBeUndefined();
    release();
    await pending;
    expect(done).toBe(true);
    expect(await store.stat("locks/x")).toBeDefined();
    await store.deleteMany(["locks/x"]);
    expect(seen).toEqual(["put:locks/x", "stat:locks/x", "stat:locks/x", "deleteMany:"]);
    expect(store.counts).toMatchObject({ put: 1, stat: 2, deleteMany: 1, get: 0 });
    store.resetCounts();
    expect(store.counts.stat).toBe(0);
  });
});

describe("assertValidKey", () => {
  it("accepts the repository's key shapes and names the bad key", () => {
    for (const key of ["config", "data/ab/ab12ef", "snapshots/20261122T024436Z-1a2b3c4d", "keys/.hidden", "a_b-c.d"]) {
      expect(() => assertValidKey(key)).not.toThrow();
    }
    expect(() => assertValidKey("a/../b")).toThrow(ConfigError);
    expect(() => assertValidKey("a/../b")).toThrow(/"a\/\.\.\/b"/);
    expect(() => assertValidKey("/a")).toThrow(/must not start with "\/"/);
  });
});

function unwrap(store: ObjectStore): ObjectStore {
  return store instanceof RetryStore ? store.inner : store;
}

describe("openStore", () => {
  it("opens plain paths and file:// URLs as LocalStore", () => {
    const relative = unwrap(openStore("backups/repo", {}));
    expect(relative).toBeInstanceOf(LocalStore);
    expect(relative.location).toBe(path.resolve("backups/repo"));
    const absolute = unwrap(openStore("/srv/backup", {}));
    expect(absolute.location).toBe(path.resolve("/srv/backup"));
    expect(unwrap(openStore("file:///srv/backup", {})).location).toBe(path.resolve("/srv/backup"));
  });

  it("opens s3:// URLs with the endpoint, region and path style from the environment, loading the SDK on first use", async () => {
    const deferred = openStore("s3://my-bucket/team/app/", {});
    expect(deferred).toBeInstanceOf(DeferredStore);
    expect(deferred.location).toBe("s3://my-bucket/team/app");
    const opened = async (location: string, env: Record<string, string>) => unwrap(await (openStore(location, env) as DeferredStore).resolve());
    const plain = await opened("s3://my-bucket", {});
    expect(plain).toBeInstanceOf(S3Store);
    const s3 = plain as S3Store;
    expect(s3.location).toBe("s3://my-bucket");
    expect(s3.prefix).toBe("");
    expect(s3.region).toBe("us-east-1");
    expect(s3.forcePathStyle).toBe(false);
    expect(s3.endpoint).toBe("https://s3.us-east-1.amazonaws.com");

    const env = { RESTORABLE_S3_ENDPOINT: "http://127.0.0.1:9000", AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "x" };
    const minio = (await opened("s3://my-bucket/team/app/", env)) as S3Store;
    expect(minio.location).toBe("s3://my-bucket/team/app");
    expect(minio.prefix).toBe("team/app");
    expect(minio.endpoint).toBe("http://127.0.0.1:9000");
    expect(minio.region).toBe("eu-west-1");
    expect(minio.forcePathStyle).toBe(true);

    const overridden = (await opened("s3://b.example/p", { ...env, RESTORABLE_S3_REGION: "auto", RESTORABLE_S3_PATH_STYLE: "false" })) as S3Store;
    expect(overridden.region).toBe("auto");
    expect(overridden.forcePathStyle).toBe(false);
    expect(((await opened("s3://bkt/p", { AWS_DEFAULT_REGION: "ap-south-1" })) as S3Store).region).toBe("ap-south-1");
  });

  it("never puts credentials in the location", () => {
    const store = openStore("s3://my-bucket/p", { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3cr3t" });
    expect(store.location).toBe("s3://my-bucket/p");
    expect(JSON.stringify(store.location)).not.toContain("s3cr3t");
  });

  it("rejects bad locations with ConfigError naming --repo / RESTORABLE_REPOSITORY", () => {
    const bad = [
      "",
      "   ",
      "s3://",
      "s3:///prefix",
      "s3://Bad_Bucket/x",
      "s3://ab",
      "s3://user:pw@bucket/x",
      "s3://bucket:9000/x",
      "s3://bucket/a//b",
      "s3://bucket/a/../b",
      "s3://bucket/x?versionId=1",
      "gs://bucket/x",
      "https://example.com/repo",
    ];
    for (const location of bad) {
      let error: unknown;
      try {
        openStore(location, {});
      } catch (e) {
        error = e;
      }
      expect(error, location).toBeInstanceOf(ConfigError);
      expect((error as Error).message, location).toContain("--repo / RESTORABLE_REPOSITORY");
    }
  });

  it("rejects bad RESTORABLE_S3_* values naming the variable", () => {
    expect(() => openStore("s3://bucket", { RESTORABLE_S3_PATH_STYLE: "yes" })).toThrow(/RESTORABLE_S3_PATH_STYLE/);
    expect(() => openStore("s3://bucket", { RESTORABLE_S3_ENDPOINT: "localhost:9000" })).toThrow(/RESTORABLE_S3_ENDPOINT/);
    expect(() => openStore("s3://bucket", { RESTORABLE_S3_ENDPOINT: "http://u:p@host:9000" })).toThrow(ConfigError);
  });
});
