/**
 * `verify --read-data`: reads whole packs, checks each against its id
 * (SHA-256 of the pack), decrypts the header and every frame, and checks
 * that every chunk hashes back to its id (HMAC). Returns the ids of damaged
 * chunks so the caller can name the snapshots and files that use them.
 */
import { freeNow } from "../../core/bytes.js";
import { sha256, toHex } from "../../core/crypto.js";
import { IntegrityError, NotFoundError } from "../../core/errors.js";
import type { ChunkIndex } from "../../core/index-codec.js";
import { decodeFrame, decodePack, type PackEntry } from "../../core/pack.js";
import { mapLimit } from "../../core/concurrency.js";
import { packKey } from "../../repo/layout.js";
import type { Repository } from "../../repo/repository.js";
import type { Problem } from "./structure.js";

export interface ReadDataReport {
  readonly packsRead: number;
  readonly bytesRead: number;
  readonly chunksChecked: number;
  /** Hex ids of chunks that are missing or fail authentication. */
  readonly damagedChunks: Set<string>;
  readonly problems: Problem[];
}

/**
 * Reads and checks the packs `packIds` (hex).
 * @param onPack progress callback (bytes of the pack just checked).
 */
export async function readData(repo: Repository, index: ChunkIndex, packIds: readonly string[], onPack?: (bytes: number) => void): Promise<ReadDataReport> {
  const damagedChunks = new Set<string>();
  const damagedPacks = new Set<string>();
  const problems: Problem[] = [];
  let bytesRead = 0;
  let chunksChecked = 0;
  await mapLimit(packIds, 2, async (pack) => {
    let bytes: Uint8Array;
    try {
      bytes = await repo.store.get(packKey(pack));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      damagedPacks.add(pack);
      problems.push({ pack, message: `pack ${pack} is missing` });
      return;
    }
    bytesRead += bytes.length;
    onPack?.(bytes.length);
    if (toHex(sha256(bytes)) !== pack) {
      problems.push({ pack, message: `pack ${pack} does not match its id (bytes changed in storage)` });
    }
    let entries: PackEntry[];
    try {
      entries = decodePack(repo.keys.encKey, bytes);
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      damagedPacks.add(pack);
      problems.push({ pack, message: `pack ${pack} header is damaged: ${err.message}` });
      return;
    }
    const byFrame = new Map<number, PackEntry[]>();
    for (const e of entries) {
      const list = byFrame.get(e.frameOffset);
      if (list) list.push(e);
      else byFrame.set(e.frameOffset, [e]);
    }
    for (const [offset, list] of byFrame) {
      const first = list[0]!;
      let frame: Uint8Array | undefined;
      try {
        frame = decodeFrame(repo.keys.encKey, bytes.subarray(offset, offset + first.frameLength));
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
      }
      for (const e of list) {
        chunksChecked++;
        const data = frame?.subarray(e.innerOffset, e.innerOffset + e.length);
        if (!data || data.length !== e.length || Buffer.compare(repo.chunkId(data), e.id) !== 0) {
          damagedChunks.add(toHex(e.id));
        }
      }
      if (frame) freeNow(frame); // made here and checked: free it now, not at the next collection
      else problems.push({ pack, message: `pack ${pack}: frame at offset ${offset} fails authentication` });
    }
    freeNow(bytes); // the store's get hands over its memory; a pack is up to ~18 MiB
  });
  if (damagedPacks.size > 0) {
    // Everything the index places in an unreadable pack is damaged.
    for (const e of index.entries()) if (damagedPacks.has(toHex(e.packId))) damagedChunks.add(toHex(e.id));
  }
  return { packsRead: packIds.length, bytesRead, chunksChecked, damagedChunks, problems };
}
