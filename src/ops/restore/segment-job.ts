/**
 * Turns one planned segment (segments.ts) into a restore pool job: reads its
 * sealed frames from the pack, copies them into one job buffer, and lays out
 * its files and chunks in typed arrays (WriteJob in restore-worker.ts). Only
 * numbers and bytes cross to the worker; the files are named by their number
 * in the shared file table.
 */
import { freeNow } from "../../core/bytes.js";
import type { Repository } from "../../repo/repository.js";
import type { FileTable } from "./file-table.js";
import { fetchPackFrames } from "./pack-fetch.js";
import type { PoolJob, RestorePool } from "./restore-pool.js";
import { CHUNK_FIELDS, type Segment } from "./segments.js";

/** A segment's job, and what completing it means. */
export interface SegmentJob {
  readonly job: PoolJob;
  /** File bytes the job writes. */
  readonly bytes: number;
  /** Files the job completes (every chunk in this segment). */
  readonly whole: number;
  /** Files the job writes part of (completed by a finish job once all their segments are written). */
  readonly split: readonly number[];
}

/**
 * Builds the job for segment `seg` of pack `pack` (hex).
 * @param describe names the segment's first file, for the error when the pack is missing.
 * @throws IntegrityError when the pack is missing or truncated (from fetchPackFrames).
 */
export async function segmentJob(repo: Repository, pool: RestorePool, files: FileTable, seg: Segment, pack: string, describe: () => string): Promise<SegmentJob> {
  const sealed = await fetchPackFrames(repo, pack, seg.frames, describe);
  const frameIndex = new Map<number, number>();
  const buf = pool.buffer(seg.bytes);
  const frames: number[] = [];
  let at = 0;
  for (const [off, frame] of [...sealed].sort((a, b) => a[0] - b[0])) {
    frameIndex.set(off, frames.length / 2);
    buf.set(frame, at);
    frames.push(at, frame.length);
    at += frame.length;
  }
  // Copied into the job's buffer: the reads (the store's memory, handed over) go now.
  for (const frame of sealed.values()) freeNow(frame);
  let chunkCount = 0;
  for (const sf of seg.files) chunkCount += sf.chunks.length;
  const fileFields = new Float64Array(3 * seg.files.length);
  const chunks = new Float64Array(4 * chunkCount);
  const ids = new Uint8Array(32 * chunkCount);
  const split: number[] = [];
  let bytes = 0;
  let whole = 0;
  let c = 0;
  seg.files.forEach((sf, j) => {
    fileFields[3 * j] = sf.file;
    fileFields[3 * j + 1] = sf.chunks.length;
    fileFields[3 * j + 2] = sf.whole ? 1 : 0;
    if (sf.whole) whole++;
    else split.push(sf.file);
    const table = files.table(sf.file);
    for (const k of sf.chunks) {
      const t = k * CHUNK_FIELDS;
      chunks[4 * c] = frameIndex.get(table[t + 1]!)!;
      chunks[4 * c + 1] = table[t + 3]!;
      chunks[4 * c + 2] = table[t + 4]!;
      chunks[4 * c + 3] = table[t + 5]!;
      ids.set(files.chunkId(sf.file, k), 32 * c);
      bytes += table[t + 4]!;
      c++;
    }
  });
  return { job: { buf, frames, files: fileFields, chunks, ids }, bytes, whole, split };
}
