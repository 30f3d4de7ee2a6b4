/**
 * A local cache of index files, so a snapshot against S3 does not download
 * every index file each run. It stores the sealed bytes exactly as in the
 * repository, under `<cacheDir>/<repository id>/index/<name>`, so they are
 * authenticated again (AES-GCM) every time they are read.
 *
 * The cache is never taken as proof that anything exists in storage: the
 * list of index files always comes from the store, a cached file is used
 * only when the store lists that name with the same size, and cached names
 * the store no longer lists are deleted.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { random, toHex } from "../core/crypto.js";

export class IndexCache {
  private readonly dir: string;

  /** @param root the cache root (e.g. `~/.cache/restorable`); @param repoId the repository id from `config`. */
  constructor(root: string, repoId: string) {
    this.dir = join(root, repoId, "index");
  }

  /** The cached bytes of `name` when present with exactly `size` bytes. */
  async get(name: string, size: number): Promise<Uint8Array | undefined> {
    try {
      const bytes = await readFile(join(this.dir, name));
      return bytes.length === size ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores `bytes` under `name` (write to a temp name, then rename). Cache failures are ignored. */
  async put(name: string, bytes: Uint8Array): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      const tmp = join(this.dir, `.tmp-${toHex(random(6))}`);
      await writeFile(tmp, bytes);
      await rename(tmp, join(this.dir, name));
    } catch {
      // A cache that cannot be written only costs speed.
    }
  }

  /** Deletes cached files whose names are not in `keep`. */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const n of names) if (!keep.has(n)) await rm(join(this.dir, n), { force: true });
  }
}
