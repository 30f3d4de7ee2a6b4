import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: external "node:zlib"
const external_node_zlib_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");
;// CONCATENATED MODULE: ../src/repo/frame-worker.ts
/**
 * Worker-thread body of the frame pool (frame-pool.ts): compresses and seals
 * frames off the main thread, exactly as `encodeFrame` in src/core/pack.ts
 * does (zstd level 3 when it shrinks the payload, flag byte, AES-256-GCM with
 * a random 96-bit nonce: nonce || ciphertext || tag). The pool's test decodes
 * this worker's output with `decodeFrame`, so the two cannot drift apart.
 *
 * Loaded both as compiled `build/repo/frame-worker.js` and, under vitest, as
 * this `.ts` file through Node 24's type stripping: so it stays erasable
 * TypeScript and imports only `node:` modules at run time.
 */



const key = new Uint8Array(external_node_worker_threads_namespaceObject.workerData.key);
const level = external_node_worker_threads_namespaceObject.workerData.level;
function encode(plain) {
    const packed = (0,external_node_zlib_namespaceObject.zstdCompressSync)(plain, { params: { [external_node_zlib_namespaceObject.constants.ZSTD_c_compressionLevel]: level } });
    const useZstd = packed.length < plain.length;
    const payload = useZstd ? packed : plain;
    const nonce = (0,external_node_crypto_namespaceObject.randomBytes)(12);
    const cipher = (0,external_node_crypto_namespaceObject.createCipheriv)("aes-256-gcm", key, nonce);
    const out = new Uint8Array(12 + 1 + payload.length + 16);
    out.set(nonce, 0);
    const flag = cipher.update(new Uint8Array([useZstd ? 1 : 0]));
    out.set(flag, 12);
    const body = cipher.update(payload);
    out.set(body, 12 + flag.length);
    const fin = cipher.final();
    out.set(fin, 12 + flag.length + body.length);
    out.set(cipher.getAuthTag(), 12 + 1 + payload.length);
    return out;
}
external_node_worker_threads_namespaceObject.parentPort.on("message", (msg) => {
    try {
        const sealed = encode(msg.plain);
        external_node_worker_threads_namespaceObject.parentPort.postMessage({ id: msg.id, sealed }, [sealed.buffer]);
    }
    catch (err) {
        external_node_worker_threads_namespaceObject.parentPort.postMessage({ id: msg.id, error: err.message });
    }
});

;// CONCATENATED MODULE: ./frame-worker.ts


