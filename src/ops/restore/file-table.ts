/**
 * The files a restore writes, in columns. D1 restores 58,588 files: an
 * object per file holding its absolute and temporary paths (built with
 * `path.join`, which leaves trees of concatenated strings) plus a typed array
 * of chunk fields and one of ids per file took about 50 MB of the main
 * thread's heap. Here each file keeps its listing facts; its chunks live in
 * two shared slabs, and its paths are made when a job needs them.
 */
import { dirname, join } from "node:path";
import type { ListingEntry } from "../../core/manifest.js";
import { CHUNK_FIELDS, type ChunkTables } from "./segments.js";

/** What restore keeps of a file's listing entry (no chunk ids). */
export type FileFacts = Pick<ListingEntry, "p" | "m" | "u" | "g" | "mt" | "s" | "h" | "q">;

/** Growable Float64Array / Uint8Array with amortised doubling (capped growth of 64 Mi elements per step). */
function grow<T extends Float64Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const next = make(Math.max(need, a.length + Math.min(a.length, 64 * 1024 * 1024), 1024));
  next.set(a);
  return next;
}

export class FileTable implements ChunkTables {
  /** Listing facts per file, in planning order (the file's number is its index). */
  private readonly facts: FileFacts[] = [];
  /** Source number per file (an index into `names`). */
  private readonly source: number[] = [];
  /** First chunk of file i is `start[i]`; its chunks end at `start[i + 1]`. */
  private readonly start: number[] = [0];
  private fields = new Float64Array(0);
  private idBytes = new Uint8Array(0);
  /** Segments still to write per split file (see restore.ts). */
  readonly remaining: number[] = [];

  /**
   * @param target the restore target's real path; `names` the snapshot's source names (folders below it).
   * @param tag random hex in every temporary name, so names never collide with existing files.
   */
  constructor(private readonly target: string, private readonly names: readonly string[], private readonly tag: string) {}

  /** Files planned. */
  get count(): number {
    return this.facts.length;
  }

  /** Plans a file of source `source` (its chunks come with `setChunks`, in planning order). @returns its number. */
  add(source: number, e: ListingEntry): number {
    this.facts.push({ p: e.p, m: e.m, u: e.u, g: e.g, mt: e.mt, s: e.s, ...(e.h !== undefined ? { h: e.h } : {}), ...(e.q !== undefined ? { q: e.q } : {}) });
    this.source.push(source);
    this.remaining.push(0);
    return this.facts.length - 1;
  }

  /**
   * Records the chunks of the next file without chunks (files get them in the order they were added).
   * @param ids the chunk ids, 32 bytes each; `fields` CHUNK_FIELDS numbers per chunk.
   */
  setChunks(ids: Uint8Array, fields: Float64Array): void {
    const n = ids.length / 32;
    const first = this.start[this.start.length - 1]!;
    if (this.start.length > this.facts.length) throw new RangeError("FileTable.setChunks: every planned file has its chunks");
    this.fields = grow(this.fields, (first + n) * CHUNK_FIELDS, (k) => new Float64Array(k));
    this.idBytes = grow(this.idBytes, (first + n) * 32, (k) => new Uint8Array(k));
    this.fields.set(fields, first * CHUNK_FIELDS);
    this.idBytes.set(ids, first * 32);
    this.start.push(first + n);
  }

  /** The listing facts of file `i`. */
  entry(i: number): FileFacts {
    return this.facts[i]!;
  }

  /** The CHUNK_FIELDS numbers of file `i`'s chunks (a view). */
  table(i: number): Float64Array {
    return this.fields.subarray(this.start[i]! * CHUNK_FIELDS, this.start[i + 1]! * CHUNK_FIELDS);
  }

  /** The 32-byte id of chunk `k` of file `i` (a view). */
  chunkId(i: number, k: number): Uint8Array {
    const at = (this.start[i]! + k) * 32;
    return this.idBytes.subarray(at, at + 32);
  }

  /** Where file `i` ends up: `<target>/<source name>/<path>`. */
  abs(i: number): string {
    return join(this.target, this.names[this.source[i]!]!, this.facts[i]!.p);
  }

  /** The temporary name file `i` is written under, beside its final path. */
  temp(i: number): string {
    return join(dirname(this.abs(i)), `.restorable-tmp-${this.tag}-${i.toString(36)}`);
  }
}
