/**
 * ReadOnlyStore: lets reads through and refuses every write. Restore drills
 * and verify open the repository through it, so nothing running in a sandbox
 * can change the repository, whatever the credentials would allow.
 */
import { StoreError } from "../core/errors.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

/** Wraps `inner`; put/delete/deleteMany throw StoreError with `details.readOnly === true`. */
export class ReadOnlyStore implements ObjectStore {
  readonly location: string;
  readonly inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.inner = inner;
    this.location = inner.location;
  }

  #refuse(op: string, key: string): never {
    throw new StoreError(`repository is opened read-only (${this.location}): refused to write ${key}`, {
      readOnly: true,
      op,
      key,
      location: this.location,
    });
  }

  async put(key: string, _data: Uint8Array, _options?: PutOptions): Promise<void> {
    this.#refuse("put", key);
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.inner.get(key, range);
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.inner.listKeys(prefix);
  }

  async delete(key: string): Promise<void> {
    this.#refuse("delete", key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const shown = keys.length <= 1 ? (keys[0] ?? "(no keys)") : `${keys[0]} (+${keys.length - 1} more)`;
    this.#refuse("deleteMany", shown);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
