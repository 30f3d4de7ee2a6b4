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
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { random, toHex } from "../core/crypto.js";
import { NotFoundError, ObjectExistsError, RestorableError, StoreError } from "../core/errors.js";
import { mapLimit } from "../core/concurrency.js";
import { assertValidKey, assertValidPrefix, isValidSegment, TEMP_PREFIX } from "./keys.js";
import { assertValidRange, clipRange } from "./range.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

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
      const firstCreated = await mkdir(dir, { recursive: true });
      const temp = path.join(dir, `${TEMP_PREFIX}${toHex(random(8))}`);
      try {
        await writeDurably(temp, data);
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
      const handle = await open(file, "r");
      try {
        if (!range) {
          const buffer = await handle.readFile();
          const own = buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength;
          // A plain Uint8Array (not a Buffer), never a view into memory shared with other reads.
          return own ? new Uint8Array(buffer.buffer, 0, buffer.byteLength) : new Uint8Array(buffer);
        }
        const { size } = await handle.stat();
        const { start, end } = clipRange(size, range);
        const out = new Uint8Array(end - start);
        let filled = 0;
        while (filled < out.length) {
          const { bytesRead } = await handle.read(out, filled, out.length - filled, start + filled);
          if (bytesRead === 0) break; // the file shrank under us: return what exists
          filled += bytesRead;
        }
        return filled === out.length ? out : out.subarray(0, filled);
      } finally {
        await handle.close();
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
      const info = await stat(this.#file(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtimeMs } : undefined;
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.#storeError(error, "stat", key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const startKey = slash >= 0 ? prefix.slice(0, slash) : "";
    const keys: string[] = [];
    await this.#walk(startKey, prefix, keys);
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

  /** Collects the keys of regular files under folder `dirKey` ("" = root) that start with `prefix`. */
  async #walk(dirKey: string, prefix: string, out: string[]): Promise<void> {
    const dir = dirKey === "" ? this.root : this.#file(dirKey);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw this.#storeError(error, "list", dirKey === "" ? "." : dirKey);
    }
    const subfolders: string[] = [];
    for (const entry of entries) {
      if (!isValidSegment(entry.name)) continue; // temp files and names no key can have
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isFile()) {
        if (key.startsWith(prefix)) out.push(key);
      } else if (entry.isDirectory()) {
        const asFolder = `${key}/`;
        if (asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) subfolders.push(key);
      }
    }
    await mapLimit(subfolders, 4, (sub) => this.#walk(sub, prefix, out));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    if (await this.#unlink(key)) {
      await this.#syncFolders([path.dirname(this.#file(key))], key);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    const removed = await mapLimit(keys, FS_CONCURRENCY, (key) => this.#unlink(key));
    const folders = new Set<string>();
    keys.forEach((key, i) => {
      if (removed[i]) folders.add(path.dirname(this.#file(key)));
    });
    await this.#syncFolders([...folders], keys[0] ?? "");
  }

  /** Unlinks one object; false when there was nothing to remove. */
  async #unlink(key: string): Promise<boolean> {
    try {
      await unlink(this.#file(key));
      return true;
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return false;
      if (code === "EPERM" && (await stat(this.#file(key)).catch(() => undefined))?.isDirectory()) return false;
      throw this.#storeError(error, "delete", key);
    }
  }

  async #syncFolders(folders: readonly string[], key: string): Promise<void> {
    try {
      await mapLimit(folders, FS_CONCURRENCY, (folder) => fsyncDir(folder));
    } catch (error) {
      throw this.#storeError(error, "delete", key);
    }
  }

  async close(): Promise<void> {}
}
