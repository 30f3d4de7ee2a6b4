/**
 * ObjectStore on a local folder: key `a/b/c` is the file `<root>/a/b/c`.
 *
 * Atomicity (a reader sees the old object, none, or all of the new one):
 * `put` writes `<dir>/.tmp-<random>` in the target's folder, fsyncs it, then
 * - plain put: rename(2)s it over the target (atomic replace on POSIX);
 * - create-only put (`ifNoneMatch`): link(2)s it to the target, which fails
 *   with EEXIST when the target exists (so two writers racing for one key get
 *   exactly one winner), then unlinks the temporary name;
 * and finally fsyncs the folder (and every folder it had to create) so the new
 * name survives a power loss. Temporary files are never listed.
 *
 * Caveat: rename, O_EXCL and link are not reliable on network file systems
 * (NFS, SMB/CIFS): depending on the server, client caching and protocol version
 * they can report success for an operation that lost a race, or fail after it
 * succeeded. Use this store on a local disk; for shared storage use S3.
 * Keys that are both an object and a "folder" (`a` and `a/b`) cannot coexist
 * here, unlike on S3; the repository layout never needs that.
 */
import { close as closeFd, closeSync, read as readFd, fstatSync, fsync as fsyncFd, open as openFd, openSync, readdirSync, readSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { link, mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { random, toHex } from "../core/crypto.js";
import { NotFoundError, ObjectExistsError, RestorableError, StoreError } from "../core/errors.js";
import { mapLimit } from "../core/concurrency.js";
import { assertValidKey, assertValidPrefix, isValidSegment, TEMP_PREFIX } from "./keys.js";
import { assertValidRange, clipRange } from "./range.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

/** Reads (whole objects or ranges) up to this many bytes are made with blocking calls. */
const SYNC_READ_BYTES = 1024 * 1024;

/** Reads `size` bytes from `start` of an open file into a buffer of its own (the file may have shrunk: what exists). */
function readSpanSync(fd: number, start: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = readSync(fd, out, filled, size - filled, start + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === size ? out : out.subarray(0, filled);
}

/** `readSpanSync` through the thread pool. */
async function readSpanAsync(fd: number, start: number, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await new Promise<number>((resolve, reject) => readFd(fd, out, filled, size - filled, start + filled, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    if (n === 0) break;
    filled += n;
  }
  return filled === size ? out : out.subarray(0, filled);
}

/** Folders `list` reads between two turns of the event loop. */
const WALK_SLICE = 64;

/** How many file system calls `list` and `deleteMany` keep in flight. */
const FS_CONCURRENCY = 32;

const RETRYABLE_CODES = new Set(["EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT"]);

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** fsync(2) a folder so the entries created or removed in it are durable. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Windows cannot fsync a directory handle; there is nothing better to do there.
    if (process.platform !== "win32") throw error;
  } finally {
    await handle.close();
  }
}

/**
 * fsync(2) a folder, for the delete path: the same as `fsyncDir` through the callback API, which costs about a
 * third less CPU than a promise FileHandle (prune syncs a thousand folders in one step).
 */
function syncFolder(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    openFd(dir, "r", (openError, fd) => {
      if (openError) return reject(openError);
      fsyncFd(fd, (syncError) => {
        closeFd(fd, (closeError) => {
          // Windows cannot fsync a directory handle; there is nothing better to do there.
          const error = syncError && process.platform !== "win32" ? syncError : closeError;
          if (error) reject(error);
          else resolve();
        });
      });
    });
  });
}

/** True when `file` is a folder (unlink's EPERM on Linux and macOS). */
function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** How many unlinks `deleteMany` runs before letting other work (timers, lock refresh) run. */
const UNLINK_SLICE = 256;

/** Writes `data` to a new file (`wx`: never an existing one) and fsyncs it before closing. */
async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  const handle = await open(file, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Folders `mkdir -p` created for `dir` plus the parent of the topmost one: every folder whose entries changed. */
function foldersToSync(dir: string, firstCreated: string | undefined): string[] {
  if (firstCreated === undefined) return [dir];
  const out: string[] = [];
  let current = dir;
  while (true) {
    out.push(current);
    if (current === firstCreated) break;
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  out.push(path.dirname(firstCreated));
  return out;
}

/** A folder-backed store. `location` is the absolute folder path. */
export class LocalStore implements ObjectStore {
  /** Absolute path of the root folder (created by the first `put` when missing). */
  readonly root: string;
  readonly location: string;

  /** @param root folder path, relative ones resolved against the current directory. */
  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
  }

  #file(key: string): string {
    return path.join(this.root, ...key.split("/"));
  }

  /** Turns a Node.js file system error into a typed StoreError naming the file. */
  #storeError(error: unknown, op: string, key: string): Error {
    if (error instanceof RestorableError) return error;
    const code = errnoCode(error);
    const file = this.#file(key);
    const details = { key, path: file, location: this.location, code };
    const why = error instanceof Error ? error.message : String(error);
    let message: string;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      message = `cannot ${op} ${file}: permission denied (${code}); check the owner and mode of ${this.root}`;
    } else if (code === "ENOSPC" || code === "EDQUOT") {
      message = `cannot ${op} ${file}: no space left on the device holding ${this.root} (${code})`;
    } else if (code === "ENOTDIR" || code === "EISDIR" || code === "ENOTEMPTY") {
      message = `cannot ${op} ${file}: a file and a folder collide on that path (${code})`;
    } else {
      message = `cannot ${op} ${file}: ${why}`;
    }
    return new StoreError(message, details, { cause: error, retryable: code !== undefined && RETRYABLE_CODES.has(code) });
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertValidKey(key);
    const target = this.#file(key);
    const dir = path.dirname(target);
    try {
      const temp = path.join(dir, `${TEMP_PREFIX}${toHex(random(8))}`);
      let firstCreated: string | undefined;
      try {
        for (let attempt = 1; ; attempt++) {
          firstCreated = (await mkdir(dir, { recursive: true })) ?? firstCreated;
          try {
            await writeDurably(temp, data);
            break;
          } catch (error) {
            // deleteMany removes the folders it empties: ours may vanish between mkdir and the write.
            if (errnoCode(error) !== "ENOENT" || attempt >= 5) throw error;
          }
        }
        if (options?.ifNoneMatch) {
          try {
            await link(temp, target);
          } catch (error) {
            if (errnoCode(error) === "EEXIST") throw new ObjectExistsError(key);
            throw error;
          }
        } else {
          await rename(temp, target);
        }
      } finally {
        await rm(temp, { force: true });
      }
      for (const folder of foldersToSync(dir, firstCreated)) await fsyncDir(folder);
    } catch (error) {
      throw this.#storeError(error, "write", key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    const file = this.#file(key);
    try {
      // Small reads (manifests, annotations, index files, listing frames) with blocking calls: through
      // fs/promises an open/stat/read/close costs the main thread about 3x as much, which was half of
      // prune's CPU over 1,000 snapshots, and each await waits for the thread pool (prune read its kept
      // snapshots' listings in 57 ms of waiting for 3 ms of work). Larger reads (packs, restore's
      // segments) go through the thread pool from the same descriptor, so they overlap.
      const fd = openSync(file, "r");
      try {
        const size = fstatSync(fd).size;
        const { start, end } = range ? clipRange(size, range) : { start: 0, end: size };
        return end - start <= SYNC_READ_BYTES ? readSpanSync(fd, start, end - start) : await readSpanAsync(fd, start, end - start);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        throw new NotFoundError(`object not found: ${key} in ${this.location}`, { key, location: this.location }, { cause: error });
      }
      throw this.#storeError(error, "read", key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const info = statSync(this.#file(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtimeMs } : undefined;
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.#storeError(error, "stat", key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const keys = await this.#keys(prefix);
    const infos = await mapLimit(keys, FS_CONCURRENCY, async (key) => {
      try {
        return await this.stat(key);
      } catch (error) {
        throw this.#storeError(error, "list", key);
      }
    });
    const out = infos.filter((info): info is ObjectInfo => info !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Folder walk only: no `stat` per object (1,000 of them cost prune about 15 ms). */
  async listKeys(prefix: string): Promise<string[]> {
    return (await this.#keys(prefix)).sort();
  }

  /** The keys under `prefix`, unsorted. */
  async #keys(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const keys: string[] = [];
    await this.#walk(slash >= 0 ? prefix.slice(0, slash) : "", prefix, keys);
    return keys;
  }

  /**
   * Collects the keys of regular files under folder `startKey` ("" = root) that start with `prefix`.
   * Folders are read with blocking calls (microseconds each on a local disk, where awaiting the thread
   * pool for each of the 1,000 folders under annotations/ cost prune about 100 ms), with a turn of the
   * event loop every WALK_SLICE folders so lock refreshes and signals still run.
   */
  async #walk(startKey: string, prefix: string, out: string[]): Promise<void> {
    const queue = [startKey];
    for (let n = 0; n < queue.length; n++) {
      if (n > 0 && n % WALK_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const dirKey = queue[n]!;
      let entries;
      try {
        entries = readdirSync(dirKey === "" ? this.root : this.#file(dirKey), { withFileTypes: true });
      } catch (error) {
        const code = errnoCode(error);
        if (code === "ENOENT" || code === "ENOTDIR") continue;
        throw this.#storeError(error, "list", dirKey === "" ? "." : dirKey);
      }
      for (const entry of entries) {
        if (!isValidSegment(entry.name)) continue; // temp files and names no key can have
        const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
        if (entry.isFile()) {
          if (key.startsWith(prefix)) out.push(key);
        } else if (entry.isDirectory()) {
          const asFolder = `${key}/`;
          if (asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) queue.push(key);
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    if (this.#unlink(key)) {
      await this.#syncFolders(this.#emptied([path.dirname(this.#file(key))]), key);
    }
  }

  /**
   * Unlinks every key, then fsyncs each folder that lost an entry once: when this resolves, every removal is
   * durable (a power loss can no longer bring an object back). Callers that need an order between groups of
   * removals (prune: manifests, then index files, then packs) call it once per group and wait for it.
   * Unlinks are synchronous calls (a local unlink is a few microseconds; through the promise API its
   * bookkeeping cost more than the call), in slices so timers such as a lock's refresh still run.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    const folders = new Set<string>();
    try {
      for (let i = 0; i < keys.length; i++) {
        if (i > 0 && i % UNLINK_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const key = keys[i]!;
        if (this.#unlink(key)) folders.add(path.dirname(this.#file(key)));
      }
    } catch (error) {
      // The removals done before the failure are still made durable; the failure is what the caller sees.
      await this.#syncFolders([...folders], keys[0] ?? "").catch(() => undefined);
      throw error;
    }
    await this.#syncFolders(this.#emptied(folders), keys[0] ?? "");
  }

  /**
   * The folders to fsync after removals from `folders`: a folder below the top level (`annotations/<id>`,
   * `data/<2 hex>`) that is now empty is removed and its parent synced instead. Otherwise the folders of
   * forgotten snapshots' annotations piled up (a thousand empty folders cost every later listing), and
   * each cost an fsync (a thousand fsyncs were most of prune's forget step). A concurrent put into a
   * folder removed here makes it again (see put).
   */
  #emptied(folders: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const folder of folders) {
      const below = path.relative(this.root, folder);
      if (below.includes(path.sep) && !below.startsWith("..")) {
        try {
          rmdirSync(folder);
          out.add(path.dirname(folder));
          continue;
        } catch (error) {
          if (errnoCode(error) === "ENOENT") {
            out.add(path.dirname(folder));
            continue;
          }
          // ENOTEMPTY, EEXIST: still in use; anything else surfaces in its fsync
        }
      }
      out.add(folder);
    }
    return [...out];
  }

  /** Unlinks one object (synchronously); false when there was nothing to remove. */
  #unlink(key: string): boolean {
    try {
      unlinkSync(this.#file(key));
      return true;
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return false;
      if (code === "EPERM" && isDirectory(this.#file(key))) return false;
      throw this.#storeError(error, "delete", key);
    }
  }

  async #syncFolders(folders: readonly string[], key: string): Promise<void> {
    try {
      await mapLimit(folders, FS_CONCURRENCY, (folder) => syncFolder(folder));
    } catch (error) {
      throw this.#storeError(error, "delete", key);
    }
  }

  async close(): Promise<void> {}
}
