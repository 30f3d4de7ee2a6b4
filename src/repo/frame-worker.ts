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
import { createCipheriv, randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { constants, zstdCompressSync } from "node:zlib";

/** A request: `plain` is transferred. */
export interface FrameRequest {
  readonly id: number;
  readonly plain: Uint8Array;
}

/** A reply: `sealed` is transferred, or `error` says why encoding failed. */
export interface FrameReply {
  readonly id: number;
  readonly sealed?: Uint8Array;
  readonly error?: string;
}

const key = new Uint8Array(workerData.key as ArrayBuffer);
const level = workerData.level as number;

function encode(plain: Uint8Array): Uint8Array {
  const packed = zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: level } });
  const useZstd = packed.length < plain.length;
  const payload = useZstd ? packed : plain;
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
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

/**
 * This thread allocates almost no JavaScript objects, only buffers (the frame it
 * receives, zstd's output, the cipher's output), so V8 rarely collects here and
 * those buffers piled up. Measured on D1's database alone, peak RSS of the
 * snapshot: 838 MB without collecting here, 838 MB collecting every 32 MiB,
 * 588 MB every 4 MiB. So the worker collects explicitly after every
 * GC_EVERY_BYTES of plaintext (a full GC of this tiny heap takes about a
 * millisecond). `--expose-gc` set at run time (node:v8 setFlagsFromString)
 * applies to contexts created afterwards, hence the fresh vm context.
 */
const GC_EVERY_BYTES = 4 * 1024 * 1024;
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
let sinceGc = 0;

parentPort!.on("message", (msg: FrameRequest) => {
  sinceGc += msg.plain.length;
  if (sinceGc >= GC_EVERY_BYTES) {
    sinceGc = 0;
    collect();
  }
  try {
    const sealed = encode(msg.plain);
    parentPort!.postMessage({ id: msg.id, sealed } satisfies FrameReply, [sealed.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message } satisfies FrameReply);
  }
});
