/**
 * In-memory ObjectStore for unit tests: same semantics as the real adapters
 * (key grammar, clipped ranges, create-only puts, sorted listing), and it keeps
 * private copies of the bytes so a caller mutating its buffer afterwards, or
 * the array it got back, cannot change what is stored.
 */
import { NotFoundError, ObjectExistsError } from "../core/errors.js";
import { assertValidKey, assertValidPrefix } from "./keys.js";
import { assertValidRange, clipRange } from "./range.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

interface Entry {
  readonly data: Uint8Array;
  readonly lastModified: number;
}

/** A Map-backed store; `location` is `memory:<name>`. Not for production use: nothing is persisted. */
export class MemoryStore implements ObjectStore {
  readonly location: string;
  readonly #objects = new Map<string, Entry>();

  constructor(name = "test") {
    this.location = `memory:${name}`;
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertValidKey(key);
    if (options?.ifNoneMatch && this.#objects.has(key)) throw new ObjectExistsError(key);
    this.#objects.set(key, { data: Uint8Array.from(data), lastModified: Date.now() });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    const entry = this.#objects.get(key);
    if (!entry) throw new NotFoundError(`object not found: ${key} in ${this.location}`, { key, location: this.location });
    if (!range) return Uint8Array.from(entry.data);
    const { start, end } = clipRange(entry.data.length, range);
    return entry.data.slice(start, end);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const entry = this.#objects.get(key);
    return entry ? { key, size: entry.data.length, lastModified: entry.lastModified } : undefined;
  }

  async listKeys(prefix: string): Promise<string[]> {
    return (await this.list(prefix)).map((o) => o.key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const out: ObjectInfo[] = [];
    for (const [key, entry] of this.#objects) {
      if (key.startsWith(prefix)) out.push({ key, size: entry.data.length, lastModified: entry.lastModified });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    this.#objects.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    for (const key of keys) this.#objects.delete(key);
  }

  async close(): Promise<void> {}
}
