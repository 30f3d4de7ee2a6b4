/**
 * Worker-thread body of the restore pool (restore-pool.ts). One job is the
 * sealed frames restore needs from one pack; the worker decodes each frame
 * exactly as `decodeFrame` in src/core/pack.ts does (AES-256-GCM open:
 * nonce(12) || ciphertext || tag(16); flag byte 0 raw / 1 zstd, RFC 8878),
 * checks every chunk against its id (HMAC-SHA-256 under the id key, as
 * `Repository.chunkId`), and writes it into its file. Files whose every chunk
 * is in the job are created (O_CREAT|O_EXCL|O_NOFOLLOW, under their temporary
 * name), checked against the listing's SHA-256, given mode, times and owner,
 * and renamed into place; chunks of files spread over several packs go into
 * temporary files the main thread created, and a `finish` job completes those
 * once every chunk is written. The main thread decides every path; the worker
 * never creates a folder or a symlink. The pool's test restores through this
 * worker and compares with data sealed by `encodeFrame`, so the two cannot
 * drift apart.
 *
 * Loaded both as compiled `build/ops/restore/restore-worker.js` and, under
 * vitest, as this `.ts` file through Node 24's type stripping: so it stays
 * erasable TypeScript and imports only `node:` modules at run time.
 */
import { createDecipheriv, createHash, createHmac } from "node:crypto";
import { closeSync, constants as fsc, fchmodSync, fchownSync, futimesSync, openSync, readSync, renameSync, rmSync, writevSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { zstdDecompressSync } from "node:zlib";

/**
 * `freeNow` of src/core/bytes.ts, restated: a worker imports only node: modules, since under vitest it
 * runs from source, where `.js` imports of project files do not resolve. Frees an ArrayBuffer this
 * thread alone holds, now (ES2024 `transfer(0)`), leaving Node's pooled small-Buffer memory alone.
 */
function freeNow(view: Uint8Array): void {
  const memory = view.buffer;
  if (memory instanceof ArrayBuffer && memory.byteLength > Buffer.poolSize && !memory.detached) memory.transfer(0);
}

/** What a file becomes once all its bytes are written. */
export interface FileMeta {
  /** Final path (the temporary file is renamed to it). */
  readonly abs: string;
  /** Permission bits (`& 0o7777` applied by the caller). */
  readonly mode: number;
  /** Modification (and access) time, seconds since the epoch. */
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
  /** Lower-case hex SHA-256 the content must have (from the listing); unchecked when absent. */
  readonly sha256?: string;
  /** Remove `-wal`, `-shm` and `-journal` next to `abs` (a restored SQLite database). */
  readonly dropSidecars: boolean;
}

/** One file's chunks in a job. */
export interface JobFile {
  /** The caller's number for the file (named in errors). */
  readonly file: number;
  /** Temporary path: created here when `whole` is set, else it already exists. */
  readonly temp: string;
  /** Set when the job holds every chunk of the file, in file order from offset 0: the worker completes it. */
  readonly whole?: FileMeta;
  /** Per chunk, 4 numbers: frame number in the job, offset in the decoded frame, length, offset in the file (bytes). */
  readonly chunks: readonly number[];
  /** The chunks' ids, 32 bytes each, in order. */
  readonly ids: Uint8Array;
}

/** Decode and write: `buf` (transferred) holds the sealed frames, frame i at `frames[2i]`, length `frames[2i+1]`. */
export interface WriteJob {
  readonly id: number;
  readonly buf: Uint8Array;
  readonly frames: readonly number[];
  readonly files: readonly JobFile[];
}

/** Complete a file whose chunks other jobs wrote into `temp`: check its SHA-256, set its metadata, rename it. */
export interface FinishJob {
  readonly id: number;
  readonly file: number;
  readonly temp: string;
  readonly meta: FileMeta;
}

export type RestoreJob = WriteJob | FinishJob;

/** Why a job failed: `integrity` (damaged frame, chunk or content) or `io` (a file-system call). */
export interface JobError {
  readonly kind: "integrity" | "io";
  readonly message: string;
  /** The file being written, when there was one. */
  readonly file?: number;
  /** errno code of an `io` failure. */
  readonly code?: string;
}

/** The reply to a job: `buf` is the job's buffer, transferred back for reuse. */
export interface JobReply {
  readonly id: number;
  readonly buf?: Uint8Array;
  readonly error?: JobError;
}

/** Data each worker starts with. */
export interface RestoreWorkerData {
  /** 32-byte AES-256-GCM frame key (a copy). */
  readonly encKey: ArrayBuffer;
  /** 32-byte HMAC chunk-id key (a copy). */
  readonly idKey: ArrayBuffer;
  /** Upper bound on a decoded frame (bytes). */
  readonly maxFrame: number;
  /** Set file owners (the process runs as root). */
  readonly chown: boolean;
}

const NONCE = 12;
const TAG = 16;
/** A write gathers at most this many bytes / parts (IOV_MAX is 1024 on Linux). */
const RUN_BYTES = 1024 * 1024;
const RUN_PARTS = 512;
/** Decoded frames kept per job (most recent); a file's chunks are mostly in consecutive frames. */
const KEEP_FRAMES = 8;

/** Bytes of buffers made (decrypted and decompressed frames) after which the worker collects its garbage. */
const COLLECT_AFTER = 4 * 1024 * 1024;

/**
 * V8's garbage collector, called explicitly: this thread makes a new buffer for every frame it
 * decrypts and decompresses (node:crypto and node:zlib offer no output buffer), and V8 counts that
 * memory outside its heap only loosely, so without this each worker held up to about 100 MB of dead
 * buffers. The buffers die young, so a minor (scavenge) collection frees them, in well under a
 * millisecond. `--expose-gc` set at run time applies to contexts made afterwards (node:v8 docs,
 * `setFlagsFromString`); the new context's `gc` collects this thread's heap.
 */
const collect = ((): (() => void) => {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as (o?: { type: "minor" | "major" }) => void;
    return () => gc({ type: "minor" });
  } catch {
    return () => undefined;
  }
})();
let made = 0;
function madeBytes(n: number): void {
  made += n;
  if (made >= COLLECT_AFTER) {
    made = 0;
    collect();
  }
}

const init = workerData as RestoreWorkerData;
const encKey = new Uint8Array(init.encKey);
const idKey = new Uint8Array(init.idKey);
const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
const REOPEN = fsc.O_WRONLY | fsc.O_NOFOLLOW;

/** A failure to report (no parameter properties: they are not erasable TypeScript). */
class Failure extends Error {
  readonly kind: "integrity" | "io";
  readonly file: number | undefined;
  code: string | undefined;
  constructor(kind: "integrity" | "io", message: string, file?: number) {
    super(message);
    this.kind = kind;
    this.file = file;
  }
}

function decode(sealed: Uint8Array, where: string, file: number): Uint8Array {
  if (sealed.length < NONCE + TAG) throw new Failure("integrity", `${where} is damaged (shorter than its seal)`, file);
  let body: Buffer;
  try {
    const d = createDecipheriv("aes-256-gcm", encKey, sealed.subarray(0, NONCE));
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const a = d.update(sealed.subarray(NONCE, sealed.length - TAG));
    const b = d.final();
    body = b.length ? Buffer.concat([a, b]) : a;
    if (body !== a) freeNow(a);
    madeBytes(body.length);
  } catch {
    throw new Failure("integrity", `${where} is damaged (AES-256-GCM authentication failed)`, file);
  }
  if (body.length < 1) throw new Failure("integrity", `${where} is damaged (no flag byte)`, file);
  const flag = body[0];
  const payload = body.subarray(1);
  if (flag === 0) return payload;
  if (flag !== 1) throw new Failure("integrity", `${where} is damaged (unknown flag ${String(flag)})`, file);
  try {
    // Output in 128 KiB steps (the default is 16 KiB): a 64 KiB frame in one piece, ~15% faster here.
    const out = zstdDecompressSync(payload, { maxOutputLength: init.maxFrame, chunkSize: 128 * 1024 });
    freeNow(body);
    madeBytes(out.length);
    return out;
  } catch {
    throw new Failure("integrity", `${where} is damaged (zstd payload does not decompress)`, file);
  }
}

function io<T>(file: number, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const f = new Failure("io", `${what}: ${e.message}`, file);
    f.code = e.code;
    throw f;
  }
}

function setMeta(fd: number, f: number, meta: FileMeta): void {
  io(f, `set mode/times of ${meta.abs}`, () => {
    fchmodSync(fd, meta.mode);
    futimesSync(fd, meta.mtime, meta.mtime);
    if (init.chown) fchownSync(fd, meta.uid, meta.gid);
  });
}

function place(f: number, temp: string, meta: FileMeta): void {
  io(f, `rename ${temp} to ${meta.abs}`, () => {
    renameSync(temp, meta.abs);
    // A stale WAL next to a fresh copy would be replayed over it by SQLite.
    if (meta.dropSidecars) for (const s of ["-wal", "-shm", "-journal"]) rmSync(meta.abs + s, { force: true });
  });
}

function checkHash(f: number, meta: FileMeta, got: string): void {
  if (meta.sha256 !== undefined && got !== meta.sha256) {
    throw new Failure("integrity", `restored content has sha256 ${got}, the listing says ${meta.sha256}`, f);
  }
}

/**
 * Writes a job's files. Decoded frames are freed as soon as nothing refers to them (`freeNow`): one
 * dropped from the cache may still be referenced by a pending write, so it is freed after the next
 * write, and the cache is freed when the job ends.
 */
function write(job: WriteJob): void {
  const decoded = new Map<number, Uint8Array>();
  const retired: Uint8Array[] = [];
  const frame = (i: number, file: number): Uint8Array => {
    let d = decoded.get(i);
    if (d) return d;
    const off = job.frames[2 * i];
    const len = job.frames[2 * i + 1];
    if (off === undefined || len === undefined) throw new Failure("integrity", `frame ${i} is not in the job`, file);
    d = decode(job.buf.subarray(off, off + len), `frame ${i}`, file);
    decoded.set(i, d);
    if (decoded.size > KEEP_FRAMES) {
      const oldest = decoded.keys().next().value as number;
      retired.push(decoded.get(oldest)!);
      decoded.delete(oldest);
    }
    return d;
  };
  for (const jf of job.files) {
    const f = jf.file;
    const fd = io(f, `open ${jf.temp}`, () => openSync(jf.temp, jf.whole ? CREATE : REOPEN, 0o600));
    try {
      const hash = jf.whole?.sha256 !== undefined ? createHash("sha256") : undefined;
      let parts: Uint8Array[] = [];
      let runStart = -1;
      let runLength = 0;
      const flush = (): void => {
        if (parts.length) io(f, `write ${jf.temp}`, () => writevSync(fd, parts, runStart));
        parts = [];
        runLength = 0;
        for (const r of retired.splice(0)) freeNow(r);
      };
      let expectOffset = 0;
      for (let k = 0; k < jf.chunks.length; k += 4) {
        const fi = jf.chunks[k]!;
        const inner = jf.chunks[k + 1]!;
        const length = jf.chunks[k + 2]!;
        const at = jf.chunks[k + 3]!;
        const data = frame(fi, f).subarray(inner, inner + length);
        const n = k / 4;
        const id = jf.ids.subarray(32 * n, 32 * n + 32);
        if (data.length !== length || Buffer.compare(createHmac("sha256", idKey).update(data).digest(), id) !== 0) {
          throw new Failure("integrity", `chunk ${Buffer.from(id).toString("hex")} (frame ${fi}) does not match its id`, f);
        }
        if (jf.whole) {
          if (at !== expectOffset) throw new Failure("integrity", `chunk at ${at} out of order (expected ${expectOffset})`, f);
          expectOffset += length;
          hash?.update(data);
        }
        if (parts.length && (runStart + runLength !== at || runLength >= RUN_BYTES || parts.length >= RUN_PARTS)) flush();
        if (!parts.length) runStart = at;
        parts.push(data);
        runLength += length;
      }
      flush();
      if (jf.whole) {
        if (hash) checkHash(f, jf.whole, hash.digest("hex"));
        setMeta(fd, f, jf.whole);
      }
    } finally {
      closeSync(fd);
    }
    if (jf.whole) place(f, jf.temp, jf.whole);
  }
  for (const d of decoded.values()) freeNow(d);
}

/** Read buffer of `finish`, made once. */
let block: Buffer | undefined;

function finish(job: FinishJob): void {
  const f = job.file;
  const fd = io(f, `open ${job.temp}`, () => openSync(job.temp, fsc.O_RDONLY | fsc.O_NOFOLLOW));
  try {
    if (job.meta.sha256 !== undefined) {
      const hash = createHash("sha256");
      const buf = (block ??= Buffer.allocUnsafeSlow(1024 * 1024));
      for (let pos = 0; ; ) {
        const n = io(f, `read ${job.temp}`, () => readSync(fd, buf, 0, buf.length, pos));
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        pos += n;
      }
      checkHash(f, job.meta, hash.digest("hex"));
    }
    setMeta(fd, f, job.meta);
  } finally {
    closeSync(fd);
  }
  place(f, job.temp, job.meta);
}

parentPort!.on("message", (job: RestoreJob) => {
  let error: JobError | undefined;
  try {
    if ("meta" in job) finish(job);
    else write(job);
  } catch (err) {
    error = err instanceof Failure
      ? { kind: err.kind, message: err.message, ...(err.file !== undefined ? { file: err.file } : {}), ...(err.code ? { code: err.code } : {}) }
      : { kind: "io", message: (err as Error).message };
  }
  const buf = "buf" in job ? job.buf : undefined;
  const reply: JobReply = { id: job.id, ...(buf ? { buf } : {}), ...(error ? { error } : {}) };
  parentPort!.postMessage(reply, buf ? [buf.buffer as ArrayBuffer] : []);
});
