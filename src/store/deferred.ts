/**
 * A store whose adapter is loaded on first use, so commands on a local
 * folder never pay for loading the AWS SDK (about 250 ms of start-up).
 */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

export class DeferredStore implements ObjectStore {
  private inner: Promise<ObjectStore> | undefined;

  /** @param location shown in messages before the adapter is loaded. @param load creates the real store. */
  constructor(
    readonly location: string,
    private readonly load: () => Promise<ObjectStore>,
  ) {}

  /** The real store, loading it on the first call. */
  resolve(): Promise<ObjectStore> {
    this.inner ??= this.load();
    return this.inner;
  }

  private store(): Promise<ObjectStore> {
    return this.resolve();
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return (await this.store()).put(key, data, options);
  }
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return (await this.store()).get(key, range);
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).stat(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.store()).list(prefix);
  }
  async listKeys(prefix: string): Promise<string[]> {
    return (await this.store()).listKeys(prefix);
  }
  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }
  async deleteMany(keys: readonly string[]): Promise<void> {
    return (await this.store()).deleteMany(keys);
  }
  async close(): Promise<void> {
    if (this.inner) await (await this.inner).close();
  }
}
