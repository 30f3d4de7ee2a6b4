/**
 * Fetches many chunks grouped by pack, each pack read once: the whole pack
 * when most of it is needed, otherwise only the frames needed (adjacent
 * frames merged into one ranged read). The next pack is fetched while the
 * current one is written. Every chunk is checked against its id (HMAC).
 */
import { toHex } from "../../core/crypto.js";
import { IntegrityError, NotFoundError } from "../../core/errors.js";
import type { ChunkLocation } from "../../core/index-codec.js";
import { decodeFrame } from "../../core/pack.js";
import { packKey } from "../../repo/layout.js";
import type { Repository } from "../../repo/repository.js";

/** One chunk to deliver: its id (hex), where it lives, and where it goes. */
export interface ChunkTarget<F> {
  readonly id: string;
  readonly loc: ChunkLocation;
  readonly file: F;
  /** Byte offset of the chunk in its file. */
  readonly offset: number;
}

/** Ranged reads closer than this (bytes) are merged into one. */
const MERGE_GAP = 256 * 1024;

type Frames = Map<number, Uint8Array>; // frame offset -> sealed frame bytes

/**
 * Calls `write(target, data)` for every target, pack by pack.
 * @param describe names a target's file in errors.
 * @throws IntegrityError naming the file when a pack is missing or a chunk fails authentication.
 */
export async function fetchChunksByPack<F>(
  repo: Repository,
  targets: readonly ChunkTarget<F>[],
  write: (target: ChunkTarget<F>, data: Uint8Array) => Promise<void>,
  describe: (target: ChunkTarget<F>) => string = (t) => t.id,
  /** Called after the last chunk of each pack was written. */
  afterPack?: () => Promise<void>,
): Promise<void> {
  const byPack = new Map<string, ChunkTarget<F>[]>();
  for (const t of targets) {
    const hex = toHex(t.loc.packId);
    const list = byPack.get(hex);
    if (list) list.push(t);
    else byPack.set(hex, [t]);
  }
  const packs = [...byPack.entries()];
  let next = packs.length ? fetchFrames(repo, packs[0]![0], packs[0]![1], describe) : undefined;
  for (let i = 0; i < packs.length; i++) {
    const frames = await next!;
    next = i + 1 < packs.length ? fetchFrames(repo, packs[i + 1]![0], packs[i + 1]![1], describe) : undefined;
    next?.catch(() => undefined); // surfaced when awaited
    const decoded = new Map<number, Uint8Array>();
    const [pack, list] = packs[i]!;
    for (const t of list) {
      let frame = decoded.get(t.loc.frameOffset);
      if (!frame) {
        try {
          frame = decodeFrame(repo.keys.encKey, frames.get(t.loc.frameOffset)!);
        } catch (err) {
          throw new IntegrityError(`${describe(t)}: frame at ${t.loc.frameOffset} of pack ${pack} is damaged`, { pack, chunk: t.id }, { cause: err });
        }
        decoded.set(t.loc.frameOffset, frame);
      }
      const data = frame.subarray(t.loc.innerOffset, t.loc.innerOffset + t.loc.length);
      if (data.length !== t.loc.length || toHex(repo.chunkId(data)) !== t.id) {
        throw new IntegrityError(`${describe(t)}: chunk ${t.id} in pack ${pack} does not match its id`, { pack, chunk: t.id });
      }
      await write(t, data);
    }
    await afterPack?.();
  }
}

async function fetchFrames<F>(repo: Repository, pack: string, list: readonly ChunkTarget<F>[], describe: (t: ChunkTarget<F>) => string): Promise<Frames> {
  const wanted = new Map<number, number>();
  for (const t of list) wanted.set(t.loc.frameOffset, t.loc.frameLength);
  return fetchPackFrames(repo, pack, wanted, () => describe(list[0]!));
}

/**
 * Reads the sealed frames `wanted` (frame offset -> frame length, bytes) of one pack, neighbouring
 * frames (gaps up to 256 KiB) merged into one ranged read.
 * @param pack the pack id (hex).
 * @param describe names what needs the pack, for the error when it is missing.
 * @returns frame offset -> sealed frame bytes (views into the read buffers).
 * @throws IntegrityError when the pack is missing or shorter than a frame's end.
 */
export async function fetchPackFrames(repo: Repository, pack: string, wanted: ReadonlyMap<number, number>, describe: () => string): Promise<Map<number, Uint8Array>> {
  const ranges = [...wanted.entries()].sort((a, b) => a[0] - b[0]);
  const frames: Frames = new Map();
  const key = packKey(pack);
  try {
    // Merge neighbouring frames into few reads.
    let i = 0;
    while (i < ranges.length) {
      const start = ranges[i]![0];
      let end = start + ranges[i]![1];
      let j = i + 1;
      while (j < ranges.length && ranges[j]![0] - end <= MERGE_GAP) {
        end = Math.max(end, ranges[j]![0] + ranges[j]![1]);
        j++;
      }
      const bytes = await repo.store.get(key, { offset: start, length: end - start });
      if (bytes.length !== end - start) throw new IntegrityError(`pack ${pack} is truncated`, { pack });
      for (let k = i; k < j; k++) {
        const [off, len] = ranges[k]!;
        frames.set(off, bytes.subarray(off - start, off - start + len));
      }
      i = j;
    }
  } catch (err) {
    if (err instanceof NotFoundError) throw new IntegrityError(`${describe()}: pack ${pack} is missing`, { pack }, { cause: err });
    throw err;
  }
  return frames;
}
