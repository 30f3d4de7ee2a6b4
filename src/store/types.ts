/**
 * The ObjectStore port: the only way the repository touches storage.
 *
 * Keys are `/`-separated relative names made of `[A-Za-z0-9._-]` segments
 * (e.g. `data/ab/ab12...`, `snapshots/20261122T024436Z-1a2b3c4d`). A store
 * never interprets them beyond mapping them to files or object keys.
 *
 * Adapters: local folder (`local.ts`), S3 (`s3.ts`), in-memory (`memory.ts`,
 * unit tests only). Wrappers: retry (`retry.ts`), read-only (`readonly.ts`),
 * fault-injecting (`faulty.ts`, tests). `test/contract/store.test.ts` runs
 * every adapter through the same tests.
 */

/** What `list` and `stat` report about one object. */
export interface ObjectInfo {
  /** The key, relative to the store's root. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time as the store sees it (server time on S3), ms since the epoch. */
  readonly lastModified: number;
}

/** Options of `put`. */
export interface PutOptions {
  /**
   * Create only: fail with `ObjectExistsError` when the key exists
   * (`If-None-Match: *` on S3, `O_EXCL` / link(2) locally). Whether a provider
   * honours it is recorded by the capability probe.
   */
  readonly ifNoneMatch?: boolean;
}

/** A byte range: `offset` and `length` in bytes. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface ObjectStore {
  /** A human-readable location for messages (`/srv/backup`, `s3://bucket/prefix`); never holds credentials. */
  readonly location: string;

  /**
   * Stores `data` under `key` atomically: a reader sees the old object, or
   * none, or all of the new one, never part of it. The store keeps no reference to
   * `data` once the returned promise settles (callers reuse that memory).
   * @throws ObjectExistsError with `ifNoneMatch` when the key exists.
   * @throws StoreError on backend failure (`retryable` set for throttling, 5xx, network).
   */
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void>;

  /**
   * Reads a whole object, or `range` of it, into memory the caller owns (the store keeps no
   * reference to it: callers may overwrite or free it, see `freeNow` in core/bytes.ts).
   * @throws NotFoundError when the key does not exist.
   * @throws StoreError on backend failure.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;

  /** Size and time of one object, or `undefined` when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Every object whose key starts with `prefix` (e.g. `snapshots/`), in
   * ascending key order. Paginates internally.
   */
  list(prefix: string): Promise<ObjectInfo[]>;

  /**
   * The keys `list(prefix)` would report, without sizes and times: for callers that need names only
   * (snapshot ids, annotations), which a local folder then lists without a `stat` per object.
   */
  listKeys(prefix: string): Promise<string[]>;

  /** Removes an object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;

  /** Removes many objects (batched where the backend allows it). */
  deleteMany(keys: readonly string[]): Promise<void>;

  /** Releases connections, timers, file handles. */
  close(): Promise<void>;
}
