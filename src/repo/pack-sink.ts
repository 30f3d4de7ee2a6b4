/**
 * Where a snapshot's new chunks go: deduplicates against the repository
 * index and the chunks already written in this run, groups the rest into
 * frames and packs (src/core/pack.ts), and uploads finished packs with
 * bounded concurrency. Nothing it writes is visible to readers until the
 * caller writes the index file (`finish`) and then the manifest.
 */
import { ChunkIndex } from "../core/index-codec.js";
import { PackBuilder, type PackEntryTable } from "../core/pack.js";
import type { FramePool } from "./frame-pool.js";
import type { Repository } from "./repository.js";

/** Kinds of chunk: 0 = file data, 1 = tree (listings, chunk lists). */
export type ChunkKind = 0 | 1;

/** Counters of one run. Bytes are stored (sealed) bytes. */
export interface SinkStats {
  chunksNew: number;
  chunksTotal: number;
  packsWritten: number;
  /** Bytes of the packs written. */
  bytesAdded: number;
}

/**
 * How far a producer may run ahead of the frame encoders: frames and plaintext bytes handed to them
 * and not yet sealed, beyond which `offer` waits until half as many are left. A CDC chunk of up to
 * 4 MiB is a frame of its own: 16 of those in flight held 44 MB of a D1 snapshot's peak, hence the
 * byte bound.
 */
interface Lane {
  readonly frames: number;
  readonly bytes: number;
}

const FOREGROUND: Lane = { frames: 32, bytes: 4 * 1024 * 1024 };

/**
 * A producer that yields to the others (a database stored alongside the walk) waits at half the
 * foreground's bounds, so the walk, which needs the main thread, is not held back by the database's
 * frames while the workers still have a queue. With one bound (16 frames) for both, the walk of a D1
 * snapshot waited 2.8-3.2 s for the encoders; with these, 0.3 s.
 */
const BACKGROUND: Lane = { frames: 16, bytes: 2 * 1024 * 1024 };

/** Placeholder location in `PackSink.unindexed`, which only answers "seen?". */
const NO_PACK = new Uint8Array(32);
const NO_FIELDS = { kind: 0, frameOffset: 0, frameLength: 0, innerOffset: 0, length: 0 } as const;

export class PackSink {
  private builder: PackBuilder;
  /**
   * Ids of the chunks this run has placed in packs that are not in `index` yet (the pack being
   * filled, and those being sealed or uploaded), one ChunkIndex per pack, so a chunk seen twice is
   * stored once. Once a pack is uploaded its chunks are in `index` and its set is dropped: one set
   * for the whole run held every new chunk twice (a 480 MB database brings 118,000).
   */
  private readonly unindexed: ChunkIndex[] = [new ChunkIndex()];
  private uploads = new Set<Promise<void>>();
  private failure: unknown;
  /** Packs uploaded in this run, for the index file (entries as header bytes: 49 bytes per chunk). */
  readonly written: { packId: Uint8Array; entries: PackEntryTable }[] = [];
  /**
   * Pack buffers of uploaded packs, for the next builders: at most `uploadConcurrency` + 1 are in use
   * (one filling, the others uploading). Allocating and freeing 16 MiB per pack also raised glibc's
   * mmap threshold, after which smaller buffers came from (and fragmented) the malloc heap.
   */
  private readonly spare: Uint8Array[] = [];
  readonly stats: SinkStats = { chunksNew: 0, chunksTotal: 0, packsWritten: 0, bytesAdded: 0 };

  /** Plaintext and sealed bytes of the packs finished so far (the compression ratio for size estimates). */
  private packedPlain = 0;
  private packedSealed = 0;

  constructor(
    private readonly repo: Repository,
    /** The repository index; packs finished in this run are added to it. */
    readonly index: ChunkIndex,
    /** Worker threads that compress and seal frames; without one, frames are encoded on this thread. */
    private readonly pool?: FramePool,
    /**
     * Packs uploading at once while the next fills. One: each pack in flight holds a buffer of about
     * 18 MiB, and on a local folder a second upload made no D1 snapshot faster.
     */
    private readonly uploadConcurrency = 1,
  ) {
    this.builder = this.newBuilder();
  }

  private newBuilder(): PackBuilder {
    const ratio = this.packedPlain > 0 ? this.packedSealed / this.packedPlain : 1;
    return new PackBuilder({
      encKey: this.repo.keys.encKey, frameTarget: this.repo.config.frameTarget, packTarget: this.repo.config.packTarget,
      buffer: () => this.spare.pop(),
      ...(this.pool ? { encoder: this.pool.encode, release: this.pool.release, expectedRatio: Math.min(1, Math.max(0.05, ratio)) } : {}),
    });
  }

  /**
   * Stores `data` unless a chunk with the same id exists.
   * @returns the chunk id (32 bytes).
   * @throws whatever a failed pack upload threw (uploads run in the background).
   */
  async add(data: Uint8Array, kind: ChunkKind): Promise<Uint8Array> {
    const id = this.repo.chunkId(data);
    await this.offer(id, data, kind);
    return id;
  }

  /** The chunk id of `data` (`Repository.chunkId`). */
  chunkId(data: Uint8Array): Uint8Array {
    return this.repo.chunkId(data);
  }

  /**
   * `add` for a chunk whose id (`chunkId(data)`) the caller computed, without a promise per chunk
   * (a database brings 118,000): returns undefined when the chunk was taken (copied) at once, else
   * a promise to await before the next call and before reusing `data` (backpressure from the frame
   * encoders, or a full pack being sealed).
   * Several producers may offer at once (a database stored while the walk goes on), each awaiting its
   * own promises: a chunk is looked up again after any wait, so one that another producer placed
   * meanwhile is not stored twice.
   * @throws whatever a failed pack upload threw.
   */
  offer(id: Uint8Array, data: Uint8Array, kind: ChunkKind): Promise<void> | undefined {
    return this.offerIn(FOREGROUND, id, data, kind);
  }

  /**
   * This sink for a producer that yields to the others: its offers wait at half the bounds (see
   * BACKGROUND). Chunks, dedup and packs are shared with the sink.
   */
  background(): Pick<PackSink, "chunkId" | "offer"> {
    return { chunkId: (data) => this.chunkId(data), offer: (id, data, kind) => this.offerIn(BACKGROUND, id, data, kind) };
  }

  private offerIn(lane: Lane, id: Uint8Array, data: Uint8Array, kind: ChunkKind): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.stats.chunksTotal++;
    if (this.has(id)) return undefined;
    if (this.pool && (this.pool.inFlight >= lane.frames || this.pool.inFlightBytes >= lane.bytes)) {
      return this.pool.below(lane.frames / 2, lane.bytes / 2).then(() => this.placeNew(id, data, kind));
    }
    return this.place(id, data, kind);
  }

  /** `place` after a wait: another producer may have placed the chunk meanwhile. */
  private placeNew(id: Uint8Array, data: Uint8Array, kind: ChunkKind): Promise<void> | undefined {
    return this.has(id) ? undefined : this.place(id, data, kind);
  }

  private place(id: Uint8Array, data: Uint8Array, kind: ChunkKind): Promise<void> | undefined {
    // A chunk that would take the pack past its target starts the next pack (CDC chunks reach 4 MiB).
    if (this.builder.count > 0 && this.builder.size + data.length > this.builder.packTarget) {
      return this.sealPack().then(() => this.placeNew(id, data, kind));
    }
    this.builder.add(id, kind, data);
    this.unindexed[this.unindexed.length - 1]!.add(id, NO_PACK, NO_FIELDS);
    this.stats.chunksNew++;
    return this.builder.full ? this.sealPack() : undefined;
  }

  /** True when the chunk is in the repository index or placed in a pack by this run. */
  has(id: Uint8Array): boolean {
    if (this.index.has(id)) return true;
    for (const set of this.unindexed) if (set.has(id)) return true;
    return false;
  }

  /** Closes the current pack; encoding its last frames and uploading it continue in the background. */
  private async sealPack(): Promise<void> {
    if (this.builder.count === 0) return;
    const builder = this.builder;
    this.builder = this.newBuilder();
    const ids = this.unindexed[this.unindexed.length - 1]!;
    this.unindexed.push(new ChunkIndex());
    // Each waiter checks again when it resumes: the first adds its upload before the next one looks.
    while (this.uploads.size >= this.uploadConcurrency) await Promise.race(this.uploads);
    if (this.failure) throw this.failure;
    const task: Promise<void> = (async () => {
      const { bytes, packId, entries } = this.pool ? await builder.finishAsync() : builder.finish();
      this.packedSealed += bytes.length;
      for (const e of entries) this.packedPlain += e.length;
      await this.repo.putPack(packId, bytes);
      if (this.spare.length <= this.uploadConcurrency) this.spare.push(new Uint8Array(bytes.buffer)); // stores keep no reference once put resolves
      this.index.addPack(packId, entries);
      this.unindexed.splice(this.unindexed.indexOf(ids), 1);
      this.written.push({ packId, entries });
      this.stats.packsWritten++;
      this.stats.bytesAdded += bytes.length;
    })()
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.uploads.delete(task);
      });
    this.uploads.add(task);
  }

  /**
   * Seals the last pack, waits for every upload, and writes the index file
   * listing the packs of this run (packs -> index; the caller then writes the manifest).
   * @returns the index file name, or undefined when nothing new was written.
   */
  async finish(): Promise<{ indexFile: string | undefined; indexBytes: number }> {
    await this.sealPack();
    await Promise.all(this.uploads);
    this.spare.length = 0; // no more packs: let the pack buffers go before the index file is encoded
    if (this.failure) throw this.failure;
    if (this.written.length === 0) return { indexFile: undefined, indexBytes: 0 };
    const { name, bytes } = await this.repo.writeIndexFile(this.written);
    this.stats.bytesAdded += bytes;
    return { indexFile: name, indexBytes: bytes };
  }

  /** Makes every later `offer` throw `reason`: a failed snapshot stops the database it stores alongside the walk. */
  cancel(reason: unknown): void {
    this.failure ??= reason;
  }

  /** Waits for uploads in flight (after a failure elsewhere), ignoring their errors. */
  async abandon(): Promise<void> {
    await Promise.allSettled([...this.uploads]);
  }
}
