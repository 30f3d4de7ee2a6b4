/**
 * Prune's repack step (docs/format.md, "Prune"): copies the chunks that kept snapshots still use out of
 * mostly-unused packs into new packs, then writes the index file of the new packs. The old packs are removed
 * later by the caller, after the new index supersedes the old one.
 *
 * Reads several packs at once (READ_AHEAD packs, at most READ_AHEAD_BYTES in flight) and adds their chunks to
 * the pack sink in a fixed order (pack by pack, as planned): a repack of a slowly changing history is hundreds of
 * small packs, and reading them one at a time made the repack a chain of hundreds of round trips. Small repacks
 * seal their frames on this thread; a worker pool (FramePool) only pays for its start-up cost (two Node workers,
 * about 0.3 s of CPU each on a loaded machine) when there is enough data for it to matter.
 */
import { toHex } from "../../core/crypto.js";
import { IntegrityError, NotFoundError } from "../../core/errors.js";
import { ChunkIndex, type ChunkLocation } from "../../core/index-codec.js";
import { decodeFrame } from "../../core/pack.js";
import { FramePool } from "../../repo/frame-pool.js";
import { packKey } from "../../repo/layout.js";
import { PackSink, type ChunkKind } from "../../repo/pack-sink.js";
import type { Repository } from "../../repo/repository.js";

/** Packs read ahead of the one being copied. */
const READ_AHEAD = 8;
/** Bytes read ahead at most (one pack is always allowed, whatever its size). */
const READ_AHEAD_BYTES = 64 * 1024 * 1024;
/** Ranged reads of one pack closer than this (bytes) are merged into one read. */
const MERGE_GAP = 64 * 1024;
/** Below this many bytes to copy, prune seals frames on its own thread instead of in a worker pool. */
export const REPACK_POOL_MIN_BYTES = 8 * 1024 * 1024;

/** One chunk to copy: its id (hex) and where it is now. */
export interface RepackChunk {
  readonly id: string;
  readonly loc: ChunkLocation;
}

/** One pack's chunks to copy and the byte ranges (sealed frames, merged) to read for them. */
interface PackJob {
  readonly pack: string;
  readonly chunks: readonly RepackChunk[];
  readonly reads: readonly { readonly offset: number; readonly length: number }[];
  readonly bytes: number;
}

/** Groups `chunks` by pack (first-seen order) and plans each pack's reads. */
function planReads(chunks: readonly RepackChunk[]): PackJob[] {
  const byPack = new Map<string, RepackChunk[]>();
  for (const c of chunks) {
    const pack = toHex(c.loc.packId);
    const list = byPack.get(pack);
    if (list) list.push(c);
    else byPack.set(pack, [c]);
  }
  return [...byPack].map(([pack, list]) => {
    const frames = new Map<number, number>();
    for (const c of list) frames.set(c.loc.frameOffset, c.loc.frameLength);
    const sorted = [...frames].sort((a, b) => a[0] - b[0]);
    const reads: { offset: number; length: number }[] = [];
    for (const [offset, length] of sorted) {
      const last = reads.at(-1);
      if (last && offset - (last.offset + last.length) <= MERGE_GAP) last.length = Math.max(last.length, offset + length - last.offset);
      else reads.push({ offset, length });
    }
    return { pack, chunks: list, reads, bytes: reads.reduce((n, r) => n + r.length, 0) };
  });
}

/**
 * Reads the sealed frames one pack job needs.
 * @returns frame offset -> sealed frame bytes.
 * @throws IntegrityError when the pack is missing or shorter than planned.
 */
async function readFrames(repo: Repository, job: PackJob): Promise<Map<number, Uint8Array>> {
  const frames = new Map<number, Uint8Array>();
  for (const r of job.reads) {
    let bytes: Uint8Array;
    try {
      bytes = await repo.store.get(packKey(job.pack), r);
    } catch (err) {
      if (err instanceof NotFoundError) throw new IntegrityError(`repacking: pack ${job.pack} is missing; run \`restorable verify\` and \`restorable repair index\``, { pack: job.pack }, { cause: err });
      throw err;
    }
    if (bytes.length !== r.length) throw new IntegrityError(`repacking: pack ${job.pack} is shorter than its index says`, { pack: job.pack });
    for (const c of job.chunks) {
      const { frameOffset, frameLength } = c.loc;
      if (frameOffset >= r.offset && frameOffset + frameLength <= r.offset + r.length) {
        frames.set(frameOffset, bytes.subarray(frameOffset - r.offset, frameOffset - r.offset + frameLength));
      }
    }
  }
  return frames;
}

/**
 * Copies `chunks` into new packs and writes their index file (packs first, then the index, as a snapshot does).
 * Every chunk is authenticated twice on the way: its frame by AES-GCM, the chunk by its id (HMAC).
 * @param options.workers seal frames in a worker pool (FramePool; worth it from about REPACK_POOL_MIN_BYTES)
 *   instead of on this thread.
 * @returns how many packs were written.
 * @throws IntegrityError when a pack is missing or a frame or chunk does not authenticate (nothing is removed then:
 *   the caller has not reached its delete steps; packs written so far are orphans a later prune removes).
 */
export async function repackChunks(repo: Repository, chunks: readonly RepackChunk[], options: { readonly workers: boolean }): Promise<number> {
  if (chunks.length === 0) return 0;
  const jobs = planReads(chunks);
  const pool = options.workers ? new FramePool(repo.keys.encKey) : undefined;
  const sink = new PackSink(repo, new ChunkIndex(), pool);
  // Reads in flight, in job order; `started` is the next job to start, `inFlight` the bytes being read.
  const pending: (Promise<Map<number, Uint8Array>> | undefined)[] = [];
  let started = 0;
  let inFlight = 0;
  const fill = (consumed: number): void => {
    while (started < jobs.length && started - consumed < READ_AHEAD && (started === consumed || inFlight + jobs[started]!.bytes <= READ_AHEAD_BYTES)) {
      const job = jobs[started++]!;
      inFlight += job.bytes;
      const p = readFrames(repo, job);
      p.catch(() => undefined); // surfaced when awaited, in order
      pending.push(p);
    }
  };
  try {
    for (let i = 0; i < jobs.length; i++) {
      fill(i);
      const job = jobs[i]!;
      const frames = await pending[i]!;
      inFlight -= job.bytes;
      pending[i] = undefined;
      const decoded = new Map<number, Uint8Array>();
      for (const c of job.chunks) {
        let frame = decoded.get(c.loc.frameOffset);
        if (!frame) {
          try {
            frame = decodeFrame(repo.keys.encKey, frames.get(c.loc.frameOffset)!);
          } catch (err) {
            throw new IntegrityError(`repacking: frame at ${c.loc.frameOffset} of pack ${job.pack} is damaged`, { pack: job.pack, chunk: c.id }, { cause: err });
          }
          decoded.set(c.loc.frameOffset, frame);
        }
        const data = frame.subarray(c.loc.innerOffset, c.loc.innerOffset + c.loc.length);
        if (data.length !== c.loc.length || toHex(repo.chunkId(data)) !== c.id) {
          throw new IntegrityError(`repacking: chunk ${c.id} in pack ${job.pack} does not match its id`, { pack: job.pack, chunk: c.id });
        }
        await sink.add(data.slice(), c.loc.kind as ChunkKind);
      }
    }
    await sink.finish(); // packs, then their index file
    return sink.stats.packsWritten;
  } catch (err) {
    await Promise.allSettled(pending.filter((p) => p !== undefined));
    await sink.abandon();
    throw err;
  } finally {
    await pool?.close();
  }
}
