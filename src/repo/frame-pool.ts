/**
 * A pool of worker threads that compress and seal frames (frame-worker.ts),
 * so zstd, the slowest step of a snapshot (about 80 MB/s per core here),
 * runs on every core while the main thread reads, cuts and hashes. The same
 * workers also read and hash batches of small files (`readFiles`): on a tree
 * of 58,000 small files the open/read/close and the two hashes of each file
 * were most of the main thread's work.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { freeNow } from "../core/bytes.js";
import { ZSTD_LEVEL } from "../core/compress.js";
import type { FrameEncoder } from "../core/pack.js";
import { workerExecArgv } from "../sources/sqlite-capture.js";
import { findWorkerUrl } from "../sources/worker-url.js";
import type { FrameReply, FrameRequest, ReadReply, ReadRequest } from "./frame-worker.js";

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
  resolve: (reply: FrameReply | ReadReply) => void;
  reject: (err: Error) => void;
  /** Frame plaintext bytes (0 for a read job). */
  plainBytes: number;
}

export class FramePool {
  private readonly workers: Worker[];
  private readonly jobs = new Map<number, Job>();
  private readonly waiters: (() => void)[] = [];
  private nextId = 0;
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
    const workerData = { key: encKey.slice().buffer, level: ZSTD_LEVEL, ...(idKey ? { idKey: idKey.slice().buffer } : {}) };
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const w = new Worker(url, { workerData, execArgv: workerExecArgv(process.execArgv) });
      w.on("message", (reply: FrameReply) => this.settle(reply));
      w.on("error", (err) => this.fail(err));
      w.unref();
      return w;
    });
  }

  /** Frames queued or being encoded. */
  get inFlight(): number {
    return this.jobs.size;
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
    return (await this.submit((id) => ({ id, read: { paths, sizes, ...(buffer ? { buffer } : {}) } }) satisfies ReadRequest, buffer ? [buffer] : [])) as ReadReply;
  }

  /** Sends one job to the next worker; `plainBytes` counts in `inFlightBytes` until it settles. */
  private submit(message: (id: number) => FrameRequest | ReadRequest, transfer: ArrayBuffer[], plainBytes = 0): Promise<FrameReply | ReadReply> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextId++;
      this.jobs.set(id, { resolve, reject, plainBytes });
      this.plainInFlight += plainBytes;
      if (this.jobs.size === 1) this.workers.forEach((w) => w.ref()); // keep the process alive while work is pending
      const w = this.workers[this.turn++ % this.workers.length]!;
      w.postMessage(message(id), transfer);
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

  private settle(reply: FrameReply | ReadReply): void {
    const job = this.jobs.get(reply.id);
    if (!job) return;
    this.jobs.delete(reply.id);
    this.plainInFlight -= job.plainBytes;
    if ("sealed" in reply || "data" in reply) job.resolve(reply);
    else job.reject(new Error(`frame worker failed: ${reply.error ?? "unknown error"}`));
    if (this.jobs.size === 0) this.workers.forEach((w) => w.unref());
    this.waiters.splice(0).forEach((r) => r());
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
    this.plainInFlight = 0;
    this.waiters.splice(0).forEach((r) => r());
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
