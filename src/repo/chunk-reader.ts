/**
 * Reads single chunks by id: index lookup, ranged read of the frame from its
 * pack, decryption, decompression, and a check that the bytes hash back to
 * the id (HMAC), so a damaged or swapped chunk can never be returned.
 * Keeps a small cache of decoded frames: neighbouring small chunks share one.
 */
import { fromHex, toHex } from "../core/crypto.js";
import { IntegrityError, NotFoundError } from "../core/errors.js";
import type { ChunkIndex, ChunkLocation } from "../core/index-codec.js";
import { decodeFrame } from "../core/pack.js";
import { packKey } from "./layout.js";
import type { Repository } from "./repository.js";

export class ChunkReader {
  private frames = new Map<string, Uint8Array>();

  constructor(
    private readonly repo: Repository,
    readonly index: ChunkIndex,
    /** Decoded frames kept (most recently used). */
    private readonly cacheFrames = 64,
  ) {}

  /** Where a chunk lives. @throws IntegrityError when the index does not know it. */
  locate(id: Uint8Array | string): ChunkLocation {
    const bytes = typeof id === "string" ? fromHex(id) : id;
    const loc = this.index.get(bytes);
    if (!loc) throw new IntegrityError(`chunk ${typeof id === "string" ? id : toHex(id)} is not in the index`, { chunk: typeof id === "string" ? id : toHex(id) });
    return loc;
  }

  /**
   * The plaintext of a chunk.
   * @throws IntegrityError when the chunk is unknown, its pack is missing, or its bytes fail authentication.
   */
  async read(id: Uint8Array | string): Promise<Uint8Array> {
    const idBytes = typeof id === "string" ? fromHex(id) : id;
    const loc = this.locate(idBytes);
    const frame = await this.frame(loc);
    if (loc.innerOffset + loc.length > frame.length) throw new IntegrityError(`chunk ${toHex(idBytes)} lies outside its frame`, { chunk: toHex(idBytes), pack: toHex(loc.packId) });
    const data = frame.subarray(loc.innerOffset, loc.innerOffset + loc.length);
    if (Buffer.compare(this.repo.chunkId(data), idBytes) !== 0) {
      throw new IntegrityError(`chunk ${toHex(idBytes)} in pack ${toHex(loc.packId)} does not match its id`, { chunk: toHex(idBytes), pack: toHex(loc.packId) });
    }
    return data;
  }

  private async frame(loc: ChunkLocation): Promise<Uint8Array> {
    const key = `${toHex(loc.packId)}:${loc.frameOffset}`;
    const hit = this.frames.get(key);
    if (hit) {
      this.frames.delete(key);
      this.frames.set(key, hit);
      return hit;
    }
    const objectKey = packKey(loc.packId);
    let sealed: Uint8Array;
    try {
      sealed = await this.repo.store.get(objectKey, { offset: loc.frameOffset, length: loc.frameLength });
    } catch (err) {
      if (err instanceof NotFoundError) throw new IntegrityError(`pack ${objectKey} is missing`, { pack: toHex(loc.packId), key: objectKey }, { cause: err });
      throw err;
    }
    if (sealed.length !== loc.frameLength) throw new IntegrityError(`pack ${objectKey} is truncated`, { pack: toHex(loc.packId), key: objectKey });
    let frame: Uint8Array;
    try {
      frame = decodeFrame(this.repo.keys.encKey, sealed);
    } catch (err) {
      throw new IntegrityError(`frame at ${loc.frameOffset} of pack ${objectKey} is damaged`, { pack: toHex(loc.packId), key: objectKey }, { cause: err });
    }
    this.frames.set(key, frame);
    if (this.frames.size > this.cacheFrames) this.frames.delete(this.frames.keys().next().value!);
    return frame;
  }
}
