/**
 * A pool of worker threads that decode, check and write restored files
 * (restore-worker.ts), so decryption, zstd, chunk-id HMACs and the file
 * system calls of many small files run on every core while the main thread
 * plans and reads packs.
 *
 * Memory is bounded: at most `maxInFlight` jobs exist at once (queued or
 * running, one running per worker), and each job's buffer comes back from
 * its worker (transferred) to be reused, so workers never accumulate the
 * garbage of transferred buffers.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { MAX_FRAME_PLAINTEXT } from "../../core/pack.js";
import { workerExecArgv } from "../../sources/sqlite-capture.js";
import { findWorkerUrl } from "../../sources/worker-url.js";
import type { FileColumns, FinishJob, JobError, JobReply, RestoreWorkerData, WriteJob } from "./restore-worker.js";

export type { FileColumns } from "./restore-worker.js";

/** A job as submitted (the pool numbers it). */
export type PoolJob = Omit<WriteJob, "id"> | Omit<FinishJob, "id">;

/** A job the worker reported as failed; `detail` says how (kind, message, file number, errno code). */
export class RestoreJobError extends Error {
  constructor(readonly detail: JobError) {
    super(detail.message);
  }
}

interface Pending {
  readonly job: WriteJob | FinishJob;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class RestorePool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly queue: Pending[] = [];
  /**
   * Jobs a worker has, by id: only how to settle them. The worker got a copy of the job, and a job
   * kept here until its reply (a segment's file list: paths, metadata, chunk tables) lived long
   * enough to be promoted to V8's old generation.
   */
  private readonly running = new Map<number, Omit<Pending, "job">>();
  private readonly waiters: (() => void)[] = [];
  private readonly free: ArrayBuffer[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  /** Jobs queued or running at most (the bound on job buffers in use). */
  readonly maxInFlight: number;

  /**
   * @param keys the repository's 32-byte `encKey` (frames) and `idKey` (chunk ids), copied to each worker.
   * @param files the files jobs name by number (FileTable.freeze): shared with every worker, not copied.
   * @param size number of workers; default the machine's available parallelism (at most 8).
   * @throws Error when restore-worker.js (or .ts) is not beside this module (a broken build or bundle).
   */
  constructor(keys: { readonly encKey: Uint8Array; readonly idKey: Uint8Array }, files: FileColumns, size = Math.min(8, availableParallelism())) {
    const url = findWorkerUrl(import.meta.url, "restore-worker");
    const data: RestoreWorkerData = {
      encKey: keys.encKey.slice().buffer,
      idKey: keys.idKey.slice().buffer,
      maxFrame: MAX_FRAME_PLAINTEXT,
      chown: process.getuid?.() === 0,
      files,
    };
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const w = new Worker(url, { workerData: data, execArgv: workerExecArgv(process.execArgv) });
      w.on("message", (reply: JobReply) => this.settle(w, reply));
      w.on("error", (err) => this.fail(err));
      w.on("exit", (code) => this.fail(new Error(`restore worker exited (code ${code})`)));
      return w;
    });
    this.idle = [...this.workers];
    this.maxInFlight = this.workers.length + 1;
  }

  /** Why the pool stopped (a worker died, or it was closed); undefined while it works. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Jobs queued or running. */
  get inFlight(): number {
    return this.queue.length + this.running.size;
  }

  /** Resolves once fewer than `maxInFlight` jobs are in flight (backpressure for the caller). @throws the pool's failure. */
  async room(): Promise<void> {
    while (this.inFlight >= this.maxInFlight && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  /** A buffer of at least `bytes` for a job: one a worker gave back when one is big enough, else a new one. */
  buffer(bytes: number): Uint8Array {
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0) return new Uint8Array(this.free.splice(i, 1)[0]!, 0, bytes);
    return new Uint8Array(new ArrayBuffer(Math.max(bytes, 4 * 1024 * 1024)), 0, bytes);
  }

  /**
   * Runs a job on the next idle worker; a write job's arrays are transferred (do not touch them afterwards).
   * @throws RestoreJobError when the worker reports a failure; Error when a worker died.
   */
  run(job: PoolJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.queue.push({ job: { ...job, id: this.nextId++ } as WriteJob | FinishJob, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(p.job.id, { resolve: p.resolve, reject: p.reject });
      const j = p.job;
      const transfer = "buf" in j ? [j.buf, j.files, j.chunks, j.ids].map((a) => a.buffer as ArrayBuffer) : [];
      w.postMessage(p.job, transfer);
    }
  }

  private settle(w: Worker, reply: JobReply): void {
    const p = this.running.get(reply.id);
    this.running.delete(reply.id);
    this.idle.push(w);
    if (reply.buf && this.free.length < this.maxInFlight) this.free.push(reply.buf.buffer as ArrayBuffer);
    this.dispatch();
    if (p) {
      if (reply.error) p.reject(new RestoreJobError(reply.error));
      else p.resolve();
    }
    this.waiters.splice(0).forEach((r) => r());
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of [...this.queue.splice(0), ...this.running.values()]) p.reject(err);
    this.running.clear();
    this.waiters.splice(0).forEach((r) => r());
  }

  /** Stops the workers (a running job is cut short). */
  async close(): Promise<void> {
    this.failure ??= new Error("restore pool closed");
    for (const w of this.workers) w.removeAllListeners("exit");
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
