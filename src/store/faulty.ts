/**
 * FaultyStore: a test wrapper that calls a hook before every operation and
 * counts operations. Tests use the hook to throw injected errors (e.g. a
 * retryable StoreError on the third put), to pause an operation on a promise
 * (to interleave two writers), or to record what was called.
 */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

/** Names of the store operations the hook sees. */
export type StoreOperationName = "put" | "get" | "stat" | "list" | "delete" | "deleteMany" | "close";

/** One operation about to run. */
export interface StoreOperation {
  readonly name: StoreOperationName;
  /** The key; the prefix for `list`; `""` for `deleteMany` and `close`. */
  readonly key: string;
  /** The keys of `deleteMany`. */
  readonly keys?: readonly string[];
  /** 1-based count of operations of this name so far, this one included. */
  readonly nth: number;
}

/** Runs before each operation; throwing (or rejecting) fails the operation without reaching the inner store. */
export type OperationHook = (op: StoreOperation) => void | Promise<void>;

/** Wraps `inner`, calling `onOperation` first; `counts` tracks calls per operation name. */
export class FaultyStore implements ObjectStore {
  readonly location: string;
  readonly inner: ObjectStore;
  /** Replaceable at any time. */
  onOperation: OperationHook | undefined;
  /** Operations started per name (including those the hook failed). */
  readonly counts: Record<StoreOperationName, number> = {
    put: 0,
    get: 0,
    stat: 0,
    list: 0,
    delete: 0,
    deleteMany: 0,
    close: 0,
  };

  constructor(inner: ObjectStore, onOperation?: OperationHook) {
    this.inner = inner;
    this.location = inner.location;
    this.onOperation = onOperation;
  }

  /** Sets every counter back to 0. */
  resetCounts(): void {
    for (const name of Object.keys(this.counts) as StoreOperationName[]) this.counts[name] = 0;
  }

  async #before(name: StoreOperationName, key: string, keys?: readonly string[]): Promise<void> {
    const nth = ++this.counts[name];
    await this.onOperation?.({ name, key, nth, ...(keys ? { keys } : {}) });
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    await this.#before("put", key);
    return this.inner.put(key, data, options);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.#before("get", key);
    return this.inner.get(key, range);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    await this.#before("stat", key);
    return this.inner.stat(key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.#before("list", prefix);
    return this.inner.list(prefix);
  }

  async listKeys(prefix: string): Promise<string[]> {
    await this.#before("list", prefix);
    return this.inner.listKeys(prefix);
  }

  async delete(key: string): Promise<void> {
    await this.#before("delete", key);
    return this.inner.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await this.#before("deleteMany", "", keys);
    return this.inner.deleteMany(keys);
  }

  async close(): Promise<void> {
    await this.#before("close", "");
    return this.inner.close();
  }
}
