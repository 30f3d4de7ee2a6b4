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
 * once every chunk is written. Every path comes from the file table the main
 * thread checked and shared (FileColumns); the worker never creates a folder
 * or a symlink. The pool's test restores through this
 * worker and compares with data sealed by `encodeFrame`, so the two cannot
 * drift apart.
 *
 * Loaded both as compiled `build/ops/restore/restore-worker.js` and, under
 * vitest, as this `.ts` file through Node 24's type stripping: so it stays
 * erasable TypeScript and imports only `node:` modules at run time.
 */
import { createDecipheriv, createHash, createHmac, type Hash } from "node:crypto";
import { closeSync, constants as fsc, fchmodSync, fchownSync, futimesSync, openSync, readSync, renameSync, rmSync, writevSync } from "node:fs";
import { dirname, join } from "node:path";
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

/**
 * The files of a restore, in columns of shared memory (built once by FileTable.freeze on the main
 * thread, read by every worker; no object per file crosses threads). File i ends up at
 * `join(target, names[source[i]], path i)` and is written under the temporary name
 * `join(dirname(that), ".restorable-tmp-<tag>-<i in base 36>")` beside it, exactly as
 * FileTable.abs and FileTable.temp name them (restated here: see freeNow above).
 */
export interface FileColumns {
  /** The restore target's real path. */
  readonly target: string;
  /** The snapshot's source names: one folder each below the target. */
  readonly names: readonly string[];
  /** Random hex in every temporary name. */
  readonly tag: string;
  /** UTF-8 listing paths back to back: path i is bytes [pathEnd[i-1] (0 for i = 0), pathEnd[i]). */
  readonly paths: Uint8Array;
  readonly pathEnd: Float64Array;
  /** Source number per file (an index into `names`). */
  readonly source: Float64Array;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: Float64Array;
  /** Modification (and access) time, ms since the epoch. */
  readonly mtime: Float64Array;
  readonly uid: Float64Array;
  readonly gid: Float64Array;
  /** The SHA-256 the content must have, 32 bytes per file; checked where `hasSha256[i]` is 1. */
  readonly sha256: Uint8Array;
  readonly hasSha256: Uint8Array;
  /** 1 for a SQLite database: its `-wal`, `-shm` and `-journal` siblings are removed once it is placed. */
  readonly database: Uint8Array;
}

/**
 * Decode and write chunks of one pack. `buf` (transferred, and given back) holds the sealed frames:
 * frame k at `frames[2k]`, length `frames[2k+1]`. The other arrays are transferred too.
 */
export interface WriteJob {
  readonly id: number;
  readonly buf: Uint8Array;
  readonly frames: readonly number[];
  /**
   * Per file, 3 numbers: its number in the FileColumns, how many of its chunks follow, and 1 when the
   * job holds every chunk of the file (created, checked and completed here; else its temporary file
   * exists and `finish` completes it). A file's chunks follow the previous file's in `chunks`.
   */
  readonly files: Float64Array;
  /** Per chunk, 4 numbers: frame number in the job, offset in the decoded frame, length, offset in the file (bytes). */
  readonly chunks: Float64Array;
  /** Per chunk, its 32-byte id, in the order of `chunks`. */
  readonly ids: Uint8Array;
}

/** Complete file `file`, whose chunks other jobs wrote into its temporary file: check its SHA-256, set its metadata, rename it. */
export interface FinishJob {
  readonly id: number;
  readonly file: number;
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
  readonly files: FileColumns;
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

const cols = init.files;

/** Where file `i` ends up (as FileTable.abs). */
function absPath(i: number): string {
  const from = i === 0 ? 0 : cols.pathEnd[i - 1]!;
  const path = Buffer.from(cols.paths.buffer, cols.paths.byteOffset + from, cols.pathEnd[i]! - from).toString("utf8");
  return join(cols.target, cols.names[cols.source[i]!]!, path);
}

/** The temporary name file `i` is written under, beside `abs` (as FileTable.temp). */
function tempPath(i: number, abs: string): string {
  return join(dirname(abs), `.restorable-tmp-${cols.tag}-${i.toString(36)}`);
}

function setMeta(fd: number, f: number, abs: string): void {
  io(f, `set mode/times of ${abs}`, () => {
    fchmodSync(fd, cols.mode[f]!);
    futimesSync(fd, cols.mtime[f]! / 1000, cols.mtime[f]! / 1000);
    if (init.chown) fchownSync(fd, cols.uid[f]!, cols.gid[f]!);
  });
}

function place(f: number, temp: string, abs: string): void {
  io(f, `rename ${temp} to ${abs}`, () => {
    renameSync(temp, abs);
    // A stale WAL next to a fresh copy would be replayed over it by SQLite.
    if (cols.database[f]) for (const s of ["-wal", "-shm", "-journal"]) rmSync(abs + s, { force: true });
  });
}

/** A SHA-256 to compute for file `f`, when the listing gives one. */
function hasherFor(f: number): Hash | undefined {
  return cols.hasSha256[f] ? createHash("sha256") : undefined;
}

function checkHash(f: number, got: Buffer): void {
  const want = cols.sha256.subarray(32 * f, 32 * f + 32);
  if (Buffer.compare(got, want) !== 0) {
    throw new Failure("integrity", `restored content has sha256 ${got.toString("hex")}, the listing says ${Buffer.from(want).toString("hex")}`, f);
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
  let c = 0; // the next chunk, in `job.chunks` and `job.ids`
  for (let j = 0; j < job.files.length; j += 3) {
    const f = job.files[j]!;
    const end = c + job.files[j + 1]!;
    const whole = job.files[j + 2] === 1;
    const abs = absPath(f);
    const temp = tempPath(f, abs);
    const fd = io(f, `open ${temp}`, () => openSync(temp, whole ? CREATE : REOPEN, 0o600));
    try {
      const hash = whole ? hasherFor(f) : undefined;
      let parts: Uint8Array[] = [];
      let runStart = -1;
      let runLength = 0;
      const flush = (): void => {
        if (parts.length) io(f, `write ${temp}`, () => writevSync(fd, parts, runStart));
        parts = [];
        runLength = 0;
        for (const r of retired.splice(0)) freeNow(r);
      };
      let expectOffset = 0;
      for (; c < end; c++) {
        const fi = job.chunks[4 * c]!;
        const inner = job.chunks[4 * c + 1]!;
        const length = job.chunks[4 * c + 2]!;
        const at = job.chunks[4 * c + 3]!;
        const data = frame(fi, f).subarray(inner, inner + length);
        const id = job.ids.subarray(32 * c, 32 * c + 32);
        if (data.length !== length || Buffer.compare(createHmac("sha256", idKey).update(data).digest(), id) !== 0) {
          throw new Failure("integrity", `chunk ${Buffer.from(id).toString("hex")} (frame ${fi}) does not match its id`, f);
        }
        if (whole) {
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
      if (whole) {
        if (hash) checkHash(f, hash.digest());
        setMeta(fd, f, abs);
      }
    } finally {
      closeSync(fd);
    }
    if (whole) place(f, temp, abs);
  }
  for (const d of decoded.values()) freeNow(d);
}

/** Read buffer of `finish`, made once. */
let block: Buffer | undefined;

function finish(job: FinishJob): void {
  const f = job.file;
  const abs = absPath(f);
  const temp = tempPath(f, abs);
  const fd = io(f, `open ${temp}`, () => openSync(temp, fsc.O_RDONLY | fsc.O_NOFOLLOW));
  try {
    const hash = hasherFor(f);
    if (hash) {
      const buf = (block ??= Buffer.allocUnsafeSlow(1024 * 1024));
      for (let pos = 0; ; ) {
        const n = io(f, `read ${temp}`, () => readSync(fd, buf, 0, buf.length, pos));
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        pos += n;
      }
      checkHash(f, hash.digest());
    }
    setMeta(fd, f, abs);
  } finally {
    closeSync(fd);
  }
  place(f, temp, abs);
}

parentPort!.on("message", (job: RestoreJob) => {
  let error: JobError | undefined;
  try {
    if ("buf" in job) write(job);
    else finish(job);
  } catch (err) {
    error = err instanceof Failure
      ? { kind: err.kind, message: err.message, ...(err.file !== undefined ? { file: err.file } : {}), ...(err.code ? { code: err.code } : {}) }
      : { kind: "io", message: (err as Error).message };
  }
  const buf = "buf" in job ? job.buf : undefined;
  const reply: JobReply = { id: job.id, ...(buf ? { buf } : {}), ...(error ? { error } : {}) };
  parentPort!.postMessage(reply, buf ? [buf.buffer as ArrayBuffer] : []);
});
