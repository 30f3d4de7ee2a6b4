/**
 * A repository on an ObjectStore: its config, its keys, and typed access to
 * snapshots, index files, packs and annotations. Higher-level work (writing
 * a snapshot, restoring, verifying) lives in `src/ops` and uses this class.
 * Format: docs/format.md.
 */
import { hostname } from "node:os";
import { hmac, random, toHex } from "../core/crypto.js";
import { openJson, sealJson } from "../core/envelope.js";
import { ConfigError, IntegrityError, NotARepositoryError, NotFoundError, ObjectExistsError } from "../core/errors.js";
import { ChunkIndex, decodeIndexFile, encodeIndexFile, visitIndexFile, type DecodedIndexFile } from "../core/index-codec.js";
import { createKeySlot, deriveKeys, openKeySlots, type KeySlot, type RepoKeys, type Secret } from "../core/keyslot.js";
import type { SnapshotManifest } from "../core/manifest.js";
import type { PackEntries } from "../core/pack.js";
import { isSnapshotId, parseSnapshotId } from "../core/snapshot-id.js";
import { probeCapabilities, type StoreCapabilities } from "../store/probe.js";
import { ReadOnlyStore } from "../store/readonly.js";
import type { ObjectStore } from "../store/types.js";
import { CONFIG_KEY, INDEX_PREFIX, KEYS_PREFIX, SNAPSHOTS_PREFIX, indexKey, keySlotKey, packKey, snapshotKey } from "./layout.js";
import { mapLimit } from "../core/concurrency.js";
import { IndexCache } from "./index-cache.js";
import { DEFAULT_LOCK_TIMING, type LockTiming } from "./lock.js";

export const REPO_FORMAT = 1;

/** The plaintext `config` object: nothing secret, enough to open the key slots. */
export interface RepoConfig {
  readonly format: typeof REPO_FORMAT;
  /** 32 hex digits, random; binds key slots and names the local cache. */
  readonly id: string;
  readonly createdAt: string;
  /** Target pack size in bytes (default 16 MiB). */
  readonly packTarget: number;
  /** Target plaintext bytes per frame (default 64 KiB): small chunks are compressed and sealed together. */
  readonly frameTarget: number;
  /** Target chunk size for SQLite databases in bytes (rounded up to a multiple of the page size). */
  readonly sqliteChunk: number;
  /** What `init` found the store can do. */
  readonly capabilities: StoreCapabilities;
}

/** Options of `Repository.init`. */
export interface InitOptions {
  readonly packTarget?: number;
  readonly frameTarget?: number;
  readonly sqliteChunk?: number;
  readonly now?: Date;
  /** scrypt cost for the first password slot (tests lower it). */
  readonly scryptN?: number;
}

/** A snapshot as listed: its manifest plus where it came from. */
export type SnapshotSummary = SnapshotManifest;

export class Repository {
  private indexCache: IndexCache | undefined;
  /** Timing of the locks this handle takes and judges (stale after / refresh every, ms). */
  lockTiming: LockTiming = DEFAULT_LOCK_TIMING;

  private constructor(
    readonly store: ObjectStore,
    readonly config: RepoConfig,
    readonly keys: RepoKeys,
    /** The slot that opened the repository. */
    readonly slot: KeySlot,
    private readonly master: Uint8Array,
  ) {}

  /**
   * Creates a repository: probes the store, writes `config` (conditional create) and the first key slot.
   * @throws ConfigError when a repository already exists there.
   */
  static async init(store: ObjectStore, secret: Secret, options: InitOptions = {}): Promise<Repository> {
    if (await store.stat(CONFIG_KEY)) throw new ConfigError(`a repository already exists at ${store.location}`, { field: "repository" });
    const capabilities = await probeCapabilities(store);
    const now = options.now ?? new Date();
    const config: RepoConfig = {
      format: REPO_FORMAT,
      id: toHex(random(16)),
      createdAt: now.toISOString(),
      packTarget: options.packTarget ?? 16 * 1024 * 1024,
      frameTarget: options.frameTarget ?? 64 * 1024,
      sqliteChunk: options.sqliteChunk ?? 4096,
      capabilities,
    };
    const master = random(32);
    const slot = await createKeySlot(master, secret, config.id, {
      id: toHex(random(8)),
      host: hostname(),
      now,
      label: "initial",
      ...(options.scryptN ? { scrypt: { N: options.scryptN, r: 8, p: 1 } } : {}),
    });
    // The key slot goes first: a config without a slot would be a repository nobody can open.
    await store.put(keySlotKey(slot.id), new TextEncoder().encode(JSON.stringify(slot, null, 2)));
    try {
      await store.put(CONFIG_KEY, new TextEncoder().encode(JSON.stringify(config, null, 2)), { ifNoneMatch: true });
    } catch (err) {
      if (err instanceof ObjectExistsError) throw new ConfigError(`a repository already exists at ${store.location}`, { field: "repository" });
      throw err;
    }
    return new Repository(store, config, deriveKeys(master), slot, master);
  }

  /**
   * Opens an existing repository with a password or raw key.
   * @throws NotARepositoryError when there is no readable `config`.
   * @throws WrongKeyError when no slot opens.
   */
  static async open(store: ObjectStore, secret: Secret): Promise<Repository> {
    const config = await readConfig(store);
    const slots = await listKeySlots(store);
    const { master, slot } = await openKeySlots(slots, secret, config.id);
    return new Repository(store, config, deriveKeys(master), slot, master);
  }

  /**
   * Keeps copies of index files under `root` (e.g. `~/.cache/restorable`) to
   * save downloads; see `IndexCache` for why this never weakens checks.
   */
  useIndexCache(root: string): void {
    this.indexCache = new IndexCache(root, this.config.id);
  }

  /**
   * The same repository (config, keys, index cache) over a ReadOnlyStore: every write through the view
   * fails with StoreError (`details.readOnly`). Restore drills restore through it, so nothing that runs
   * in a sandbox can change the repository; the caller keeps this handle for its own writes (annotations).
   */
  readOnlyView(): Repository {
    const view = new Repository(this.store instanceof ReadOnlyStore ? this.store : new ReadOnlyStore(this.store), this.config, this.keys, this.slot, this.master);
    view.indexCache = this.indexCache;
    return view;
  }

  /** The chunk id of `data`: HMAC-SHA-256 under the repository's id key. */
  chunkId(data: Uint8Array): Uint8Array {
    return hmac(this.keys.idKey, data);
  }

  // ---- key slots -------------------------------------------------------

  /** Every key slot (metadata only; wrapped secrets stay wrapped). */
  listKeySlots(): Promise<KeySlot[]> {
    return listKeySlots(this.store);
  }

  /** Adds a slot for `secret` and returns it. */
  async addKeySlot(secret: Secret, label?: string, scryptN?: number): Promise<KeySlot> {
    const slot = await createKeySlot(this.master, secret, this.config.id, {
      id: toHex(random(8)),
      host: hostname(),
      now: new Date(),
      ...(label ? { label } : {}),
      ...(scryptN ? { scrypt: { N: scryptN, r: 8, p: 1 } } : {}),
    });
    await this.store.put(keySlotKey(slot.id), new TextEncoder().encode(JSON.stringify(slot, null, 2)), { ifNoneMatch: true });
    return slot;
  }

  /**
   * Removes a slot.
   * @throws ConfigError when it is the last slot, or the slot in use (`allowCurrent` false).
   * @throws NotFoundError when no slot has that id.
   */
  async removeKeySlot(id: string, allowCurrent = false): Promise<void> {
    const slots = await this.listKeySlots();
    if (!slots.some((s) => s.id === id)) throw new NotFoundError(`no key slot with id ${id}`, { keyId: id });
    if (slots.length <= 1) throw new ConfigError("refusing to remove the last key slot: the repository could never be opened again", { keyId: id });
    if (id === this.slot.id && !allowCurrent) throw new ConfigError(`key slot ${id} is the one in use; open the repository with another key to remove it`, { keyId: id });
    await this.store.delete(keySlotKey(id));
  }

  // ---- snapshots -------------------------------------------------------

  /** Ids of all committed snapshots, oldest first. */
  async listSnapshotIds(): Promise<string[]> {
    const keys = await this.store.listKeys(SNAPSHOTS_PREFIX);
    return keys.map((k) => k.slice(SNAPSHOTS_PREFIX.length)).filter(isSnapshotId).sort();
  }

  /** Every snapshot manifest, oldest first. */
  async listSnapshots(): Promise<SnapshotSummary[]> {
    const ids = await this.listSnapshotIds();
    return mapLimit(ids, 8, (id) => this.loadManifest(id));
  }

  /**
   * Reads and authenticates one manifest.
   * @throws NotFoundError, IntegrityError (also when the id inside does not match the key).
   */
  async loadManifest(id: string): Promise<SnapshotManifest> {
    const key = snapshotKey(id);
    const manifest = openJson<SnapshotManifest>(this.keys.encKey, "manifest", await this.store.get(key), key);
    if (manifest.id !== id) throw new IntegrityError(`${key}: manifest carries id ${manifest.id}`, { key, snapshot: id });
    return manifest;
  }

  /** Writes a manifest: the commit point of a snapshot. Conditional create, so an id is never reused. */
  async saveManifest(manifest: SnapshotManifest): Promise<void> {
    parseSnapshotId(manifest.id);
    await this.store.put(snapshotKey(manifest.id), sealJson(this.keys.encKey, "manifest", manifest), { ifNoneMatch: true });
  }

  /** Removes a manifest (forget). */
  async deleteManifest(id: string): Promise<void> {
    await this.store.delete(snapshotKey(id));
  }

  // ---- packs and index -------------------------------------------------

  /** Stores a finished pack under its id. */
  async putPack(packId: Uint8Array, bytes: Uint8Array): Promise<void> {
    await this.store.put(packKey(packId), bytes);
  }

  /** Names of all index files. */
  async listIndexFiles(): Promise<string[]> {
    return (await this.store.listKeys(INDEX_PREFIX)).map((k) => k.slice(INDEX_PREFIX.length));
  }

  /**
   * Reads one index file (from the local cache when it holds the same name and `size`).
   * @throws IntegrityError, NotFoundError.
   */
  async readIndexFile(name: string, size?: number): Promise<DecodedIndexFile> {
    return this.useIndexFile(name, this.fetchIndexFile(name, size), (bytes, what) => decodeIndexFile(this.keys.encKey, bytes, what));
  }

  /** An index file's bytes: the cached copy when the cache holds one of the listed `size`, else the store's. */
  private async fetchIndexFile(name: string, size: number | undefined): Promise<{ bytes: Uint8Array; cached: boolean }> {
    const cached = size !== undefined ? await this.indexCache?.get(name, size) : undefined;
    return cached ? { bytes: cached, cached: true } : { bytes: await this.store.get(indexKey(name)), cached: false };
  }

  /**
   * Hands an index file's bytes to `use`. A cached copy that `use` rejects with an IntegrityError is
   * replaced by the store's (authentication fails before anything is read, and duplicates are harmless
   * to an index, so a retry is safe); bytes from the store that `use` accepted go to the cache.
   * @throws IntegrityError naming the file, NotFoundError.
   */
  private async useIndexFile<T>(name: string, fetched: Promise<{ bytes: Uint8Array; cached: boolean }>, use: (bytes: Uint8Array, what: string) => T): Promise<T> {
    const key = indexKey(name);
    try {
      const first = await fetched;
      let bytes = first.bytes;
      if (first.cached) {
        try {
          return use(bytes, key);
        } catch (err) {
          if (!(err instanceof IntegrityError)) throw err;
          bytes = await this.store.get(key);
        }
      }
      const result = use(bytes, key);
      await this.indexCache?.put(name, bytes);
      return result;
    } catch (err) {
      if (err instanceof IntegrityError) throw new IntegrityError(`index file ${key} is damaged: ${err.message}`, { key }, { cause: err });
      throw err;
    }
  }

  /**
   * Loads every index file into one in-memory index. Index files are the
   * only proof used that a chunk exists; duplicates are tolerated (the first
   * location, in listing order, is kept).
   *
   * Up to 4 files are fetched ahead, and each is read into the index in
   * listing order straight from its bytes (`visitIndexFile`): no object per
   * entry, so memory stays near the ChunkIndex's own (~60 bytes/entry).
   * @returns the index and the names of the files read.
   */
  async loadIndex(): Promise<{ index: ChunkIndex; files: string[] }> {
    const listed = (await this.store.list(INDEX_PREFIX)).map((o) => ({ name: o.key.slice(INDEX_PREFIX.length), size: o.size }));
    const files = listed.map((f) => f.name);
    const index = new ChunkIndex();
    const fetches = listed.map(() => undefined as Promise<{ bytes: Uint8Array; cached: boolean }> | undefined);
    const fetchAt = (i: number): Promise<{ bytes: Uint8Array; cached: boolean }> | undefined => {
      const f = listed[i];
      if (!f) return undefined;
      const p = this.fetchIndexFile(f.name, f.size);
      p.catch(() => undefined); // awaited in order below; a failure surfaces there
      return (fetches[i] = p);
    };
    for (let i = 0; i < Math.min(4, listed.length); i++) fetchAt(i);
    for (const [i, f] of listed.entries()) {
      fetchAt(i + 4);
      await this.useIndexFile(f.name, fetches[i]!, (bytes, what) => {
        const packs: Uint8Array[] = [];
        visitIndexFile(this.keys.encKey, bytes, { pack: (packId) => packs.push(packId), entry: (p, id, fields) => index.add(id, packs[p]!, fields) }, what);
      });
      fetches[i] = undefined;
    }
    await this.indexCache?.prune(new Set(files));
    return { index, files };
  }

  /** Writes a new index file for `packs` and returns its name. */
  async writeIndexFile(packs: readonly { packId: Uint8Array; entries: PackEntries }[], supersedes: readonly string[] = []): Promise<{ name: string; bytes: number }> {
    const name = toHex(random(16));
    const bytes = encodeIndexFile(this.keys.encKey, { packs: [...packs], supersedes: [...supersedes] });
    await this.store.put(indexKey(name), bytes, { ifNoneMatch: true });
    return { name, bytes: bytes.length };
  }
}

/** Reads and checks the plaintext config. @throws NotARepositoryError. */
export async function readConfig(store: ObjectStore): Promise<RepoConfig> {
  let raw: Uint8Array;
  try {
    raw = await store.get(CONFIG_KEY);
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotARepositoryError(`not a restorable repository: ${store.location} (no config object; run \`restorable init\` first)`, { location: store.location });
    throw err;
  }
  let config: RepoConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(raw)) as RepoConfig;
  } catch (err) {
    throw new NotARepositoryError(`not a restorable repository: ${store.location} (config is not JSON)`, { location: store.location }, { cause: err });
  }
  if (config.format !== REPO_FORMAT || typeof config.id !== "string") {
    throw new NotARepositoryError(`${store.location}: unsupported repository format ${String(config.format)} (this version reads format ${REPO_FORMAT})`, { location: store.location });
  }
  return config;
}

async function listKeySlots(store: ObjectStore): Promise<KeySlot[]> {
  const keys = await store.listKeys(KEYS_PREFIX);
  return mapLimit(keys, 8, async (k) => JSON.parse(new TextDecoder().decode(await store.get(k))) as KeySlot);
}
