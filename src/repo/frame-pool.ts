/**
 * A pool of worker threads that compress and seal frames (frame-worker.ts),
 * so zstd, the slowest step of a snapshot (about 80 MB/s per core here),
 * runs on every core while the main thread reads, cuts and hashes. The same
 * workers also read and hash batches of small files (`readFiles`): on a tree
 * of 58,000 small files the open/read/close and the two hashes of each file
 * were most of the main thread's work. And they hash the blocks of files cut
 * in fixed chunks (`hashStream`: SQLite databases). Reads and hashes are
 * served ahead of frames; frames go to the worker with the fewest jobs.
 * The workers run 10 nice steps below the thread that made the pool, so they
 * do not preempt the main thread, the snapshot's critical path (frame-worker.ts).
 */
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { freeNow } from "../core/bytes.js";
import { ZSTD_LEVEL } from "../core/compress.js";
import type { FrameEncoder } from "../core/pack.js";
import { workerExecArgv } from "../sources/sqlite-capture.js";
import { findWorkerUrl } from "../sources/worker-url.js";
import type { FrameReply, FrameRequest, HashReply, HashRequest, ReadReply, ReadRequest } from "./frame-worker.js";

type Request = FrameRequest | ReadRequest | HashRequest;
type Reply = FrameReply | ReadReply | HashReply;

/**
 * A large file's hashing, off the main thread (FramePool.hashStream): its blocks go, in order, to one
 * worker, which serves them ahead of its queued frames and returns each block with the chunk ids of
 * its fixed-size pieces, keeping the file's running SHA-256.
 */
export interface HashStream {
  /**
   * Hashes the next `block` (transferred: use the returned one) cut in pieces of `chunk` bytes, the
   * last one maybe shorter. @returns the block and its pieces' ids (32 bytes each, in order).
   * @throws Error when a worker failed.
   */
  block(block: Uint8Array, chunk: number): Promise<{ block: Uint8Array; ids: Uint8Array }>;
  /** Ends the stream. @returns the SHA-256 of every block, hex. */
  finish(): Promise<string>;
}

function workerUrl(): URL {
  return findWorkerUrl(import.meta.url, "frame-worker");
}

/**
 * Size of the recycled frame buffers (bytes): frames close at 64 KiB of plaintext (the default
 * frameTarget) and stay under 128 KiB; the extra 64 bytes hold the sealed frame of a full one
 * (nonce, flag and tag add 29), which the worker writes back into the same memory.
 */
const FRAME_BUFFER_BYTES = 128 * 1024 + 64;
/** Recycled buffers kept at most (the pool keeps at most 16 frames in flight). */
const MAX_SPARE = 32;

interface Job {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  /** Frame plaintext bytes (0 for a read or hash job). */
  plainBytes: number;
  /** The worker it went to. */
  worker: number;
  /** A frame to encode (not a read or a hash). */
  frame: boolean;
}

export class FramePool {
  private readonly workers: Worker[];
  /** Per worker, the main thread's end of its priority port (reads and hashes skip the worker's frame queue). */
  private readonly priorityPorts: MessagePort[];
  /** Per worker, its jobs sent and not settled. */
  private readonly queued: number[];
  private streams = 0;
  private readonly jobs = new Map<number, Job>();
  private readonly waiters: (() => void)[] = [];
  private nextId = 0;
  private frames = 0;
  private plainInFlight = 0;
  private turn = 0;
  private failure: Error | undefined;

  /**
   * @param encKey the repository's 32-byte encryption key (copied to each worker).
   * @param size number of workers; default the machine's available parallelism (at most 8).
   * @param idKey the repository's 32-byte chunk-id key (copied to each worker); needed by `readFiles` only.
   */
  constructor(encKey: Uint8Array, size = Math.min(8, availableParallelism()), idKey?: Uint8Array) {
    const url = workerUrl();
    const shared = { key: encKey.slice().buffer, level: ZSTD_LEVEL, ...(idKey ? { idKey: idKey.slice().buffer } : {}) };
    this.priorityPorts = [];
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(url, { workerData: { ...shared, priorityPort: port2 }, transferList: [port2], execArgv: workerExecArgv(process.execArgv) });
      w.on("message", (reply: Reply) => this.settle(reply));
      w.on("error", (err) => this.fail(err));
      w.unref();
      port1.on("message", (reply: Reply) => this.settle(reply));
      port1.unref();
      this.priorityPorts.push(port1);
      return w;
    });
    this.queued = this.workers.map(() => 0);
  }

  /** Frames queued or being encoded (reads and hashes are not counted: they are served first). */
  get inFlight(): number {
    return this.frames;
  }

  /** Plaintext bytes of the frames queued or being encoded. */
  get inFlightBytes(): number {
    return this.plainInFlight;
  }

  /**
   * The encoder to give a PackBuilder: copies `plain` at once into a buffer of the pool's. The worker
   * writes the sealed frame back into that buffer when it fits; give `release` to the builder too,
   * so the buffer is reused once the frame is copied into its pack.
   */
  readonly encode: FrameEncoder = async (plain) => {
    const own = this.frameBuffer(plain.length);
    own.set(plain);
    const reply = (await this.submit((id) => ({ id, plain: own }) satisfies FrameRequest, [own.buffer as ArrayBuffer], plain.length)) as FrameReply;
    if (reply.plain) this.recycle(reply.plain.buffer as ArrayBuffer);
    return reply.sealed!;
  };

  /** Takes back the memory of a sealed frame `encode` returned, once the caller has copied it. */
  readonly release = (sealed: Uint8Array): void => {
    this.recycle(sealed.buffer as ArrayBuffer);
  };

  /**
   * Frame plaintexts are copied into recycled 128 KiB buffers: a fresh buffer per frame was 740 MB
   * of allocations for D1, and V8 answers that much external memory with major collections
   * (a quarter of a snapshot's CPU went to GC threads).
   */
  private readonly spare: ArrayBuffer[] = [];

  private frameBuffer(length: number): Uint8Array {
    if (length > FRAME_BUFFER_BYTES) return new Uint8Array(length);
    return new Uint8Array(this.spare.pop() ?? new ArrayBuffer(FRAME_BUFFER_BYTES), 0, length);
  }

  /** Keeps a frame buffer for the next frame, or frees it now (a large chunk's buffer, or one too many). */
  private recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === FRAME_BUFFER_BYTES && this.spare.length < MAX_SPARE) this.spare.push(buffer);
    else freeNow(new Uint8Array(buffer));
  }

  /**
   * Reads whole files and hashes each (SHA-256 of the content, and its chunk id), on a worker.
   * For files that are one chunk each (smaller than FastCDC's minimum): the id is of the whole content.
   * @param sizes the sizes the walk saw (bytes); a file found larger comes back `{ grown: true }`.
   * @param buffer memory to read into (transferred; `data` is a view of it) when the batch fits, e.g. an earlier reply's.
   * @returns the contents end to end in `data` and one result per path (an offset and length, an error, or grown).
   * @throws Error when the pool has no id key or a worker failed.
   */
  async readFiles(paths: readonly string[], sizes: readonly number[], buffer?: ArrayBuffer): Promise<ReadReply> {
    const message = (id: number): ReadRequest => ({ id, read: { paths, sizes, ...(buffer ? { buffer } : {}) } });
    return (await this.submit(message, buffer ? [buffer] : [], 0, this.leastBusy())) as ReadReply;
  }

  /**
   * Starts hashing a large file off the main thread (see HashStream); the pool needs the id key.
   * Streams are spread over the workers; a stream's requests all go to one, so they run in order.
   */
  hashStream(): HashStream {
    const to = this.streams % this.workers.length;
    const stream = this.streams++;
    return {
      block: async (block, chunk) => {
        const reply = (await this.submit((id) => ({ id, hash: { stream, block, chunk } }) satisfies HashRequest, [block.buffer as ArrayBuffer], 0, to)) as HashReply;
        return { block: reply.block!, ids: reply.ids! };
      },
      finish: async () => ((await this.submit((id) => ({ id, hash: { stream, finish: true } }) satisfies HashRequest, [], 0, to)) as HashReply).sha256!,
    };
  }

  /**
   * The worker with the fewest jobs sent and not settled (ties in turn). Round robin gave both workers the
   * same number of frames while one also hashed a database's blocks: in D1 snapshots that one was the
   * bottleneck and the other idle 40-47 % of the time.
   */
  private leastBusy(): number {
    const n = this.workers.length;
    let best = this.turn++ % n;
    for (let k = 0; k < n; k++) if (this.queued[k]! < this.queued[best]!) best = k;
    return best;
  }

  /**
   * Sends one job: without `to`, a frame, to the least busy worker's frame queue; else a read or a hash, on
   * the priority port of worker `to`. `plainBytes` (a frame's) counts in `inFlightBytes` until it settles.
   */
  private submit(message: (id: number) => Request, transfer: ArrayBuffer[], plainBytes: number, to?: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextId++;
      const worker = to ?? this.leastBusy();
      const frame = to === undefined;
      this.jobs.set(id, { resolve, reject, plainBytes, worker, frame });
      this.queued[worker]!++;
      if (frame) this.frames++;
      this.plainInFlight += plainBytes;
      if (this.jobs.size === 1) this.keepAlive(true); // keep the process alive while work is pending
      (frame ? this.workers[worker]! : this.priorityPorts[worker]!).postMessage(message(id), transfer);
    });
  }

  /**
   * Resolves once fewer than `limit` jobs are in flight and, when given, fewer than `bytes` bytes of
   * frame plaintext (backpressure for the producer).
   */
  async below(limit: number, bytes = Infinity): Promise<void> {
    while ((this.jobs.size >= limit || this.plainInFlight >= bytes) && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  /** Keeps the process alive while work is pending (workers and hash ports), or lets it exit. */
  private keepAlive(on: boolean): void {
    for (const x of [...this.workers, ...this.priorityPorts]) {
      if (on) x.ref();
      else x.unref();
    }
  }

  private settle(reply: Reply): void {
    const job = this.jobs.get(reply.id);
    if (!job) return;
    this.jobs.delete(reply.id);
    this.queued[job.worker]!--;
    if (job.frame) this.frames--;
    this.plainInFlight -= job.plainBytes;
    if ("error" in reply && reply.error !== undefined) job.reject(new Error(`frame worker failed: ${reply.error}`));
    else job.resolve(reply);
    if (this.jobs.size === 0) this.keepAlive(false);
    this.waiters.splice(0).forEach((r) => r());
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
    this.queued.fill(0);
    this.frames = 0;
    this.plainInFlight = 0;
    this.waiters.splice(0).forEach((r) => r());
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (const p of this.priorityPorts) p.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
