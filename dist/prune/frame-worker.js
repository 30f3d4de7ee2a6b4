import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
;// CONCATENATED MODULE: external "node:v8"
const external_node_v8_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:v8");
;// CONCATENATED MODULE: external "node:vm"
const external_node_vm_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:vm");
;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: external "node:zlib"
const external_node_zlib_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");
;// CONCATENATED MODULE: ../src/repo/frame-worker.ts
/**
 * Worker-thread body of the frame pool (frame-pool.ts). Two jobs:
 * - `FrameRequest`: compresses and seals a frame off the main thread, exactly
 *   as `encodeFrame` in src/core/pack.ts does (zstd at ZSTD_LEVEL when it shrinks the
 *   payload, flag byte, AES-256-GCM with a random 96-bit nonce:
 *   nonce || ciphertext || tag). The pool's test decodes this worker's output
 *   with `decodeFrame`, so the two cannot drift apart.
 * - `ReadRequest`: reads a batch of small files (each one chunk) and hashes
 *   them: SHA-256 of the content and its chunk id, HMAC-SHA-256 under the id
 *   key, as `Repository.chunkId` computes it (the pool's test compares them).
 * - `HashRequest`: hashes the next block of a large file cut in fixed-size
 *   chunks (the chunk ids of its pieces, and the block into the file's running
 *   SHA-256; a stream's blocks all go to one worker, in order).
 * Reads and hashes come on a port of their own (`workerData.priorityPort`)
 * and are served ahead of any queued frame: the main thread waits for them.
 *
 * Loaded both as compiled `build/repo/frame-worker.js` and, under vitest, as
 * this `.ts` file through Node 24's type stripping: so it stays erasable
 * TypeScript and imports only `node:` modules at run time.
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
/**
 * How much lower than the main thread a frame worker runs (nice steps). The main thread walks, reads,
 * dedups and fills packs, and is a snapshot's critical path while it walks a tree of small files; with
 * a worker per core, woken workers preempted it: in two D1 snapshots it spent 3.4 and 2.9 s runnable
 * but waiting for a core (/proc/thread-self/schedstat), at nice +10 for the workers 1.4 and 1.3 s.
 * Wall time moved less than that, within this machine's noise: of 14 alternated pairs of D1 snapshots
 * the niced build was faster in 10 (by 0.06-5.0 s) and slower in 4 (by 0.3-2.3 s). Workers that have work
 * still get every core the main thread leaves idle: a database-only snapshot, where they are the
 * bottleneck, took the same time (4 pairs).
 */
const NICER_BY = 10;
/**
 * Lowers this thread's scheduling priority by NICER_BY (Linux: setpriority(2) on a thread id changes that
 * thread only; the id comes from /proc/thread-self). Never raises it, and does nothing where the thread id
 * cannot be found (other systems) or the call is refused.
 */
function yieldToMainThread() {
    try {
        const tid = Number((0,external_node_fs_namespaceObject.readlinkSync)("/proc/thread-self").split("/").pop());
        if (!Number.isInteger(tid) || tid <= 0)
            return;
        const now = (0,external_node_os_namespaceObject.getPriority)(tid);
        if (now < 19)
            (0,external_node_os_namespaceObject.setPriority)(tid, Math.min(19, now + NICER_BY));
    }
    catch {
        // no /proc (not Linux), or not permitted: run at the process's priority
    }
}
yieldToMainThread();
const key = new Uint8Array(external_node_worker_threads_namespaceObject.workerData.key);
const idKey = external_node_worker_threads_namespaceObject.workerData.idKey ? new Uint8Array(external_node_worker_threads_namespaceObject.workerData.idKey) : undefined;
const level = external_node_worker_threads_namespaceObject.workerData.level;
/** The chunk id of `data`: HMAC-SHA-256 under the id key, as `Repository.chunkId` computes it. */
function chunkIdOf(key, data) {
    return (0,external_node_crypto_namespaceObject.createHmac)("sha256", key).update(data).digest();
}
/** Reads each file with blocking calls (one more byte than its size, to see growth) and hashes it. */
function readBatch(paths, sizes, buffer) {
    let total = 0;
    for (const size of sizes)
        total += size + 1;
    // The caller's buffer when the batch fits (a recycled one), else a new one.
    const data = buffer && buffer.byteLength >= total ? new Uint8Array(buffer, 0, total) : new Uint8Array(total);
    const files = [];
    let at = 0;
    paths.forEach((path, i) => {
        const want = sizes[i] + 1;
        let fd;
        try {
            fd = (0,external_node_fs_namespaceObject.openSync)(path, "r");
            let len = 0;
            for (let n = -1; n !== 0 && len < want; len += n)
                n = (0,external_node_fs_namespaceObject.readSync)(fd, data, at + len, want - len, len);
            if (len === want) {
                files.push({ grown: true });
                return;
            }
            const content = data.subarray(at, at + len);
            const chunkId = len > 0 && idKey ? new Uint8Array(chunkIdOf(idKey, content)) : undefined;
            files.push({ offset: at, length: len, sha256: (0,external_node_crypto_namespaceObject.createHash)("sha256").update(content).digest("hex"), ...(chunkId ? { chunkId } : {}) });
            at += len;
        }
        catch (err) {
            const code = err.code;
            files.push({ error: err.message, ...(typeof code === "string" ? { code } : {}) });
        }
        finally {
            if (fd !== undefined)
                (0,external_node_fs_namespaceObject.closeSync)(fd);
        }
    });
    return { data, files };
}
/** Running SHA-256 per open hash stream. */
const streams = new Map();
function hashBlock(req) {
    let hash = streams.get(req.stream);
    if (!hash)
        streams.set(req.stream, (hash = (0,external_node_crypto_namespaceObject.createHash)("sha256")));
    if (req.finish) {
        streams.delete(req.stream);
        return { sha256: hash.digest("hex") };
    }
    if (!idKey)
        throw new Error("this pool was started without an id key: it cannot hash chunks");
    const block = req.block;
    const chunk = req.chunk;
    hash.update(block);
    const ids = new Uint8Array(32 * Math.ceil(block.length / chunk));
    for (let off = 0, k = 0; off < block.length; off += chunk, k += 32) {
        ids.set(chunkIdOf(idKey, block.subarray(off, Math.min(off + chunk, block.length))), k);
    }
    return { block, ids };
}
/**
 * The port reads and hashes come on. They are served ahead of queued frames (`servePriority` before each
 * frame), because a thread waits for each of them: a database block queued behind a worker's frames left
 * the main thread idle 41 % of a D1 snapshot, and a batch of small files behind them kept the walk
 * waiting (D1: 3.0-3.2 s of waits for batches with a deeper frame queue, 1.0-1.1 s served ahead).
 */
const priorityPort = external_node_worker_threads_namespaceObject.workerData.priorityPort;
function servePriorityRequest(msg) {
    try {
        if ("read" in msg) {
            if (!idKey)
                throw new Error("this pool was started without an id key: it cannot read files");
            const { data, files } = readBatch(msg.read.paths, msg.read.sizes, msg.read.buffer);
            priorityPort.postMessage({ id: msg.id, data, files }, [data.buffer]);
        }
        else {
            const reply = { id: msg.id, ...hashBlock(msg.hash) };
            priorityPort.postMessage(reply, reply.block ? [reply.block.buffer] : []);
        }
    }
    catch (err) {
        priorityPort.postMessage({ id: msg.id, error: err.message });
    }
}
/** Serves every read and hash request waiting on the priority port, now. */
function servePriority() {
    if (!priorityPort)
        return;
    for (let m = (0,external_node_worker_threads_namespaceObject.receiveMessageOnPort)(priorityPort); m; m = (0,external_node_worker_threads_namespaceObject.receiveMessageOnPort)(priorityPort))
        servePriorityRequest(m.message);
}
priorityPort?.on("message", servePriorityRequest);
/**
 * A zstd context per frame (zstdCompressSync). A streaming context kept for the
 * worker's life (ZSTD_e_end per frame) left less freed workspace in the
 * thread's malloc arena (D1 database snapshot: peak RSS 347-356 MB against
 * 410-415 MB) but cost 10 % more CPU (13.3-14.4 s against 12.1-12.7 s of
 * process CPU) through its asynchronous thread-pool round trips: speed won.
 */
function encode(plain) {
    const packed = (0,external_node_zlib_namespaceObject.zstdCompressSync)(plain, { params: { [external_node_zlib_namespaceObject.constants.ZSTD_c_compressionLevel]: level } });
    const useZstd = packed.length < plain.length;
    const payload = useZstd ? packed : plain;
    const nonce = (0,external_node_crypto_namespaceObject.randomBytes)(12);
    const cipher = (0,external_node_crypto_namespaceObject.createCipheriv)("aes-256-gcm", key, nonce);
    const flag = cipher.update(new Uint8Array([useZstd ? 1 : 0]));
    const body = cipher.update(payload);
    const fin = cipher.final();
    const tag = cipher.getAuthTag();
    // Written into the plaintext's own memory when it fits (everything above is computed first, since
    // a raw payload is that memory): it goes back to the pool, which recycles it once the pack has
    // copied the frame. A new buffer per frame, freed by the main thread whenever it collected, kept
    // this thread's malloc arena at about 40 MB.
    const length = 12 + 1 + payload.length + 16;
    const out = plain.buffer.byteLength - plain.byteOffset >= length ? new Uint8Array(plain.buffer, plain.byteOffset, length) : new Uint8Array(length);
    out.set(nonce, 0);
    out.set(flag, 12);
    out.set(body, 12 + flag.length);
    out.set(fin, 12 + flag.length + body.length);
    out.set(tag, 12 + 1 + payload.length);
    freeNow(body);
    freeNow(packed);
    return out;
}
/**
 * This thread allocates almost no JavaScript objects, only buffers (zstd's
 * output, the cipher's output, file batches), so V8 rarely collects here and
 * dead buffers piled up (D1 database snapshot: peak RSS 838 MB without
 * collecting here, 588 MB with a full GC every 4 MiB). Those full GCs took
 * 10-23 ms each (--trace-gc), about 3 s of CPU per D1 snapshot; the buffers
 * die young, so a minor (scavenge) collection every GC_EVERY_BYTES of
 * plaintext frees them for far less. What remains after `freeNow` of the
 * zstd and cipher outputs is each frame's zstd context (freed with its
 * wrapper object): every 512 KiB rather than 2 MiB took 10-20 MB off a D1
 * snapshot's peak RSS at no measurable cost. `--expose-gc` set at run time (node:v8
 * setFlagsFromString) applies to contexts created afterwards, hence the
 * fresh vm context.
 */
const GC_EVERY_BYTES = 512 * 1024;
(0,external_node_v8_namespaceObject.setFlagsFromString)("--expose-gc");
const gc = (0,external_node_vm_namespaceObject.runInNewContext)("gc");
const collect = () => gc({ type: "minor" });
let sinceGc = 0;
external_node_worker_threads_namespaceObject.parentPort.on("message", (msg) => {
    servePriority();
    sinceGc += msg.plain.length;
    if (sinceGc >= GC_EVERY_BYTES) {
        sinceGc = 0;
        collect();
    }
    try {
        const sealed = encode(msg.plain);
        const inPlace = sealed.buffer === msg.plain.buffer;
        external_node_worker_threads_namespaceObject.parentPort.postMessage({ id: msg.id, sealed, ...(inPlace ? {} : { plain: msg.plain }) }, inPlace ? [sealed.buffer] : [sealed.buffer, msg.plain.buffer]);
    }
    catch (err) {
        external_node_worker_threads_namespaceObject.parentPort.postMessage({ id: msg.id, error: err.message });
    }
});

;// CONCATENATED MODULE: ./frame-worker.ts


