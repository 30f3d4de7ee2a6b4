import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: external "node:v8"
const external_node_v8_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:v8");
;// CONCATENATED MODULE: external "node:vm"
const external_node_vm_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:vm");
;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: external "node:zlib"
const external_node_zlib_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");
;// CONCATENATED MODULE: ../src/ops/restore/restore-worker.ts
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







/**
 * `freeNow` of src/core/bytes.ts, restated: a worker imports only node: modules, since under vitest it
 * runs from source, where `.js` imports of project files do not resolve. Frees an ArrayBuffer this
 * thread alone holds, now (ES2024 `transfer(0)`), leaving Node's pooled small-Buffer memory alone.
 */
function freeNow(view) {
    const memory = view.buffer;
    if (memory instanceof ArrayBuffer && memory.byteLength > Buffer.poolSize && !memory.detached)
        memory.transfer(0);
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
const collect = (() => {
    try {
        (0,external_node_v8_namespaceObject.setFlagsFromString)("--expose-gc");
        const gc = (0,external_node_vm_namespaceObject.runInNewContext)("gc");
        return () => gc({ type: "minor" });
    }
    catch {
        return () => undefined;
    }
})();
let made = 0;
function madeBytes(n) {
    made += n;
    if (made >= COLLECT_AFTER) {
        made = 0;
        collect();
    }
}
const init = external_node_worker_threads_namespaceObject.workerData;
const encKey = new Uint8Array(init.encKey);
const idKey = new Uint8Array(init.idKey);
const CREATE = external_node_fs_namespaceObject.constants.O_WRONLY | external_node_fs_namespaceObject.constants.O_CREAT | external_node_fs_namespaceObject.constants.O_EXCL | external_node_fs_namespaceObject.constants.O_NOFOLLOW;
const REOPEN = external_node_fs_namespaceObject.constants.O_WRONLY | external_node_fs_namespaceObject.constants.O_NOFOLLOW;
/** A failure to report (no parameter properties: they are not erasable TypeScript). */
class Failure extends Error {
    kind;
    file;
    code;
    constructor(kind, message, file) {
        super(message);
        this.kind = kind;
        this.file = file;
    }
}
function decode(sealed, where, file) {
    if (sealed.length < NONCE + TAG)
        throw new Failure("integrity", `${where} is damaged (shorter than its seal)`, file);
    let body;
    try {
        const d = (0,external_node_crypto_namespaceObject.createDecipheriv)("aes-256-gcm", encKey, sealed.subarray(0, NONCE));
        d.setAuthTag(sealed.subarray(sealed.length - TAG));
        const a = d.update(sealed.subarray(NONCE, sealed.length - TAG));
        const b = d.final();
        body = b.length ? Buffer.concat([a, b]) : a;
        if (body !== a)
            freeNow(a);
        madeBytes(body.length);
    }
    catch {
        throw new Failure("integrity", `${where} is damaged (AES-256-GCM authentication failed)`, file);
    }
    if (body.length < 1)
        throw new Failure("integrity", `${where} is damaged (no flag byte)`, file);
    const flag = body[0];
    const payload = body.subarray(1);
    if (flag === 0)
        return payload;
    if (flag !== 1)
        throw new Failure("integrity", `${where} is damaged (unknown flag ${String(flag)})`, file);
    try {
        // Output in 128 KiB steps (the default is 16 KiB): a 64 KiB frame in one piece, ~15% faster here.
        const out = (0,external_node_zlib_namespaceObject.zstdDecompressSync)(payload, { maxOutputLength: init.maxFrame, chunkSize: 128 * 1024 });
        freeNow(body);
        madeBytes(out.length);
        return out;
    }
    catch {
        throw new Failure("integrity", `${where} is damaged (zstd payload does not decompress)`, file);
    }
}
function io(file, what, fn) {
    try {
        return fn();
    }
    catch (err) {
        const e = err;
        const f = new Failure("io", `${what}: ${e.message}`, file);
        f.code = e.code;
        throw f;
    }
}
const cols = init.files;
/** Where file `i` ends up (as FileTable.abs). */
function absPath(i) {
    const from = i === 0 ? 0 : cols.pathEnd[i - 1];
    const path = Buffer.from(cols.paths.buffer, cols.paths.byteOffset + from, cols.pathEnd[i] - from).toString("utf8");
    return (0,external_node_path_namespaceObject.join)(cols.target, cols.names[cols.source[i]], path);
}
/** The temporary name file `i` is written under, beside `abs` (as FileTable.temp). */
function tempPath(i, abs) {
    return (0,external_node_path_namespaceObject.join)((0,external_node_path_namespaceObject.dirname)(abs), `.restorable-tmp-${cols.tag}-${i.toString(36)}`);
}
function setMeta(fd, f, abs) {
    io(f, `set mode/times of ${abs}`, () => {
        (0,external_node_fs_namespaceObject.fchmodSync)(fd, cols.mode[f]);
        (0,external_node_fs_namespaceObject.futimesSync)(fd, cols.mtime[f] / 1000, cols.mtime[f] / 1000);
        if (init.chown)
            (0,external_node_fs_namespaceObject.fchownSync)(fd, cols.uid[f], cols.gid[f]);
    });
}
function place(f, temp, abs) {
    io(f, `rename ${temp} to ${abs}`, () => {
        (0,external_node_fs_namespaceObject.renameSync)(temp, abs);
        // A stale WAL next to a fresh copy would be replayed over it by SQLite.
        if (cols.database[f])
            for (const s of ["-wal", "-shm", "-journal"])
                (0,external_node_fs_namespaceObject.rmSync)(abs + s, { force: true });
    });
}
/** A SHA-256 to compute for file `f`, when the listing gives one. */
function hasherFor(f) {
    return cols.hasSha256[f] ? (0,external_node_crypto_namespaceObject.createHash)("sha256") : undefined;
}
function checkHash(f, got) {
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
function write(job) {
    const decoded = new Map();
    const retired = [];
    const frame = (i, file) => {
        let d = decoded.get(i);
        if (d)
            return d;
        const off = job.frames[2 * i];
        const len = job.frames[2 * i + 1];
        if (off === undefined || len === undefined)
            throw new Failure("integrity", `frame ${i} is not in the job`, file);
        d = decode(job.buf.subarray(off, off + len), `frame ${i}`, file);
        decoded.set(i, d);
        if (decoded.size > KEEP_FRAMES) {
            const oldest = decoded.keys().next().value;
            retired.push(decoded.get(oldest));
            decoded.delete(oldest);
        }
        return d;
    };
    let c = 0; // the next chunk, in `job.chunks` and `job.ids`
    for (let j = 0; j < job.files.length; j += 3) {
        const f = job.files[j];
        const end = c + job.files[j + 1];
        const whole = job.files[j + 2] === 1;
        const abs = absPath(f);
        const temp = tempPath(f, abs);
        const fd = io(f, `open ${temp}`, () => (0,external_node_fs_namespaceObject.openSync)(temp, whole ? CREATE : REOPEN, 0o600));
        try {
            const hash = whole ? hasherFor(f) : undefined;
            let parts = [];
            let runStart = -1;
            let runLength = 0;
            const flush = () => {
                if (parts.length)
                    io(f, `write ${temp}`, () => (0,external_node_fs_namespaceObject.writevSync)(fd, parts, runStart));
                parts = [];
                runLength = 0;
                for (const r of retired.splice(0))
                    freeNow(r);
            };
            let expectOffset = 0;
            for (; c < end; c++) {
                const fi = job.chunks[4 * c];
                const inner = job.chunks[4 * c + 1];
                const length = job.chunks[4 * c + 2];
                const at = job.chunks[4 * c + 3];
                const data = frame(fi, f).subarray(inner, inner + length);
                const id = job.ids.subarray(32 * c, 32 * c + 32);
                if (data.length !== length || Buffer.compare((0,external_node_crypto_namespaceObject.createHmac)("sha256", idKey).update(data).digest(), id) !== 0) {
                    throw new Failure("integrity", `chunk ${Buffer.from(id).toString("hex")} (frame ${fi}) does not match its id`, f);
                }
                if (whole) {
                    if (at !== expectOffset)
                        throw new Failure("integrity", `chunk at ${at} out of order (expected ${expectOffset})`, f);
                    expectOffset += length;
                    hash?.update(data);
                }
                if (parts.length && (runStart + runLength !== at || runLength >= RUN_BYTES || parts.length >= RUN_PARTS))
                    flush();
                if (!parts.length)
                    runStart = at;
                parts.push(data);
                runLength += length;
            }
            flush();
            if (whole) {
                if (hash)
                    checkHash(f, hash.digest());
                setMeta(fd, f, abs);
            }
        }
        finally {
            (0,external_node_fs_namespaceObject.closeSync)(fd);
        }
        if (whole)
            place(f, temp, abs);
    }
    for (const d of decoded.values())
        freeNow(d);
}
/** Read buffer of `finish`, made once. */
let block;
function finish(job) {
    const f = job.file;
    const abs = absPath(f);
    const temp = tempPath(f, abs);
    const fd = io(f, `open ${temp}`, () => (0,external_node_fs_namespaceObject.openSync)(temp, external_node_fs_namespaceObject.constants.O_RDONLY | external_node_fs_namespaceObject.constants.O_NOFOLLOW));
    try {
        const hash = hasherFor(f);
        if (hash) {
            const buf = (block ??= Buffer.allocUnsafeSlow(1024 * 1024));
            for (let pos = 0;;) {
                const n = io(f, `read ${temp}`, () => (0,external_node_fs_namespaceObject.readSync)(fd, buf, 0, buf.length, pos));
                if (n === 0)
                    break;
                hash.update(buf.subarray(0, n));
                pos += n;
            }
            checkHash(f, hash.digest());
        }
        setMeta(fd, f, abs);
    }
    finally {
        (0,external_node_fs_namespaceObject.closeSync)(fd);
    }
    place(f, temp, abs);
}
external_node_worker_threads_namespaceObject.parentPort.on("message", (job) => {
    let error;
    try {
        if ("buf" in job)
            write(job);
        else
            finish(job);
    }
    catch (err) {
        error = err instanceof Failure
            ? { kind: err.kind, message: err.message, ...(err.file !== undefined ? { file: err.file } : {}), ...(err.code ? { code: err.code } : {}) }
            : { kind: "io", message: err.message };
    }
    const buf = "buf" in job ? job.buf : undefined;
    const reply = { id: job.id, ...(buf ? { buf } : {}), ...(error ? { error } : {}) };
    external_node_worker_threads_namespaceObject.parentPort.postMessage(reply, buf ? [buf.buffer] : []);
});

;// CONCATENATED MODULE: ./restore-worker.ts


