import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { random } from "../../src/core/crypto.js";
import { PackBuilder, decodeFrame, decodePack } from "../../src/core/pack.js";
import { FramePool } from "../../src/repo/frame-pool.js";

describe("frame pool", () => {
  const key = random(32);
  const pool = new FramePool(key, 2);
  afterAll(() => pool.close());

  it("encodes frames that decodeFrame reads back, compressible and not", async () => {
    const text = new TextEncoder().encode("the same line again and again\n".repeat(4000));
    const noise = new Uint8Array(randomBytes(100_000));
    for (const plain of [text, noise, new Uint8Array(1)]) {
      const sealed = await pool.encode(plain.slice());
      expect(Buffer.compare(decodeFrame(key, sealed), plain)).toBe(0);
    }
    // Compressible data is stored compressed.
    expect((await pool.encode(text.slice())).length).toBeLessThan(text.length / 10);
  });

  it.runIf(process.platform === "linux")("runs its workers 10 nice steps below the thread that made it, so they do not preempt the main thread", async () => {
    const niceOf = (stat: string): number => Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    const mine = niceOf(readFileSync("/proc/thread-self/stat", "utf8"));
    const own = new FramePool(key, 2);
    try {
      await Promise.all([own.encode(new Uint8Array(10)), own.encode(new Uint8Array(10))]); // both workers running
      const lowered = readdirSync("/proc/self/task").filter((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        return stat.includes("(WorkerThread)") && niceOf(stat) === Math.min(19, mine + 10);
      });
      expect(lowered.length).toBeGreaterThanOrEqual(2);
    } finally {
      await own.close();
    }
  });

  it("recycles frame memory once the builder has copied each frame (sealed frames written in place)", async () => {
    // Random (raw frames, sealed over their own plaintext's memory) and text chunks, many frames in flight.
    const chunks = Array.from({ length: 400 }, (_, i) =>
      i % 2 ? new Uint8Array(randomBytes(1000 + ((i * 7919) % 60_000))) : new TextEncoder().encode(`line ${i} `.repeat(100 + (i % 900))),
    );
    const b = new PackBuilder({ encKey: key, frameTarget: 64 * 1024, encoder: pool.encode, release: pool.release });
    for (const [i, c] of chunks.entries()) {
      b.add(new Uint8Array(32).fill(i % 256).map((x, j) => (j === 0 ? i >> 8 : x)), 0, c);
      if (pool.inFlight >= 6) await pool.below(2); // as PackSink does: later frames reuse released buffers
    }
    const { bytes, entries } = await b.finishAsync();
    const decoded = decodePack(key, bytes);
    expect(decoded).toEqual(entries.toArray());
    decoded.forEach((e, i) => {
      const frame = decodeFrame(key, bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength));
      expect(Buffer.compare(frame.subarray(e.innerOffset, e.innerOffset + e.length), chunks[i]!)).toBe(0);
    });
  });

  it("builds the same pack layout as the single-threaded builder", async () => {
    const chunks = Array.from({ length: 300 }, (_, i) => new TextEncoder().encode(`chunk ${i} `.repeat(50 + (i % 700))));
    const build = async (encoder?: typeof pool.encode) => {
      const b = new PackBuilder({ encKey: key, frameTarget: 16 * 1024, ...(encoder ? { encoder } : {}) });
      chunks.forEach((c, i) => b.add(new Uint8Array(32).fill(i % 256).map((x, j) => (j === 0 ? i >> 8 : x)), 0, c));
      return encoder ? b.finishAsync() : b.finish();
    };
    const [a, b] = await Promise.all([build(), build(pool.encode)]);
    // Random nonces make the bytes differ (and compressed lengths need not match byte for byte across zstd
    // APIs); which chunks share a frame, where they sit in it, and the contents must not.
    const layout = (table: typeof a.entries) => {
      const entries = table.toArray();
      const frames = [...new Set(entries.map((e) => e.frameOffset))];
      return entries.map((e) => [frames.indexOf(e.frameOffset), e.innerOffset, e.length]);
    };
    expect(layout(b.entries)).toEqual(layout(a.entries));
    const entries = decodePack(key, b.bytes);
    entries.forEach((e, i) => {
      const frame = decodeFrame(key, b.bytes.subarray(e.frameOffset, e.frameOffset + e.frameLength));
      expect(Buffer.compare(frame.subarray(e.innerOffset, e.innerOffset + e.length), chunks[i]!)).toBe(0);
    });
  });
});

describe("frame pool reading files", () => {
  const encKey = random(32);
  const idKey = random(32);
  const pool = new FramePool(encKey, 2, idKey);
  afterAll(() => pool.close());

  it("reads a batch, hashes each file as Repository.chunkId and SHA-256 would, and reports errors and growth", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createHash } = await import("node:crypto");
    const { hmac } = await import("../../src/core/crypto.js");
    const dir = mkdtempSync(join(tmpdir(), "restorable-readfiles-"));
    try {
      const contents = [randomBytes(5000), Buffer.alloc(0), Buffer.from("grew after the walk"), randomBytes(70_000)];
      contents.forEach((c, i) => writeFileSync(join(dir, `f${i}`), c));
      const paths = [...contents.map((_, i) => join(dir, `f${i}`)), join(dir, "missing")];
      // f2 is announced 5 bytes shorter than it is: the walk saw it smaller.
      const sizes = [5000, 0, contents[2]!.length - 5, 70_000, 10];
      const reply = await pool.readFiles(paths, sizes);
      expect(reply.files).toHaveLength(5);
      for (const i of [0, 1, 3]) {
        const r = reply.files[i]!;
        if (!("offset" in r)) throw new Error(`file ${i}: ${JSON.stringify(r)}`);
        const data = reply.data.subarray(r.offset, r.offset + r.length);
        expect(Buffer.compare(data, contents[i]!)).toBe(0);
        expect(r.sha256).toBe(createHash("sha256").update(contents[i]!).digest("hex"));
        if (contents[i]!.length === 0) expect(r.chunkId).toBeUndefined();
        else expect(Buffer.compare(r.chunkId!, hmac(idKey, contents[i]!))).toBe(0);
      }
      expect(reply.files[2]).toEqual({ grown: true });
      expect(reply.files[4]).toMatchObject({ code: "ENOENT" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hashes streams while frames are queued: ids of fixed pieces as Repository.chunkId, the running SHA-256, blocks handed back", async () => {
    const { createHash } = await import("node:crypto");
    const { hmac } = await import("../../src/core/crypto.js");
    const chunk = 4096;
    const file = (n: number): Buffer[] => [randomBytes(3 * chunk), randomBytes(3 * chunk), randomBytes(chunk + 100 + n)]; // the last piece is short
    const a = file(0);
    const b = file(7);
    // Frames queued on the workers, and two streams at once with their blocks interleaved: each
    // stream keeps its own SHA-256 and order.
    const frames = Array.from({ length: 12 }, () => pool.encode(new Uint8Array(randomBytes(64 * 1024))));
    const sa = pool.hashStream();
    const sb = pool.hashStream();
    const replies = await Promise.all(a.flatMap((block, i) => [sa.block(new Uint8Array(block), chunk), sb.block(new Uint8Array(b[i]!), chunk)]));
    const [shaA, shaB] = await Promise.all([sa.finish(), sb.finish()]);
    await Promise.all(frames);
    expect(shaA).toBe(createHash("sha256").update(Buffer.concat(a)).digest("hex"));
    expect(shaB).toBe(createHash("sha256").update(Buffer.concat(b)).digest("hex"));
    replies.forEach((r, j) => {
      const sent = (j % 2 === 0 ? a : b)[j >> 1]!;
      expect(Buffer.compare(r.block, sent)).toBe(0);
      expect(r.ids.length).toBe(32 * Math.ceil(sent.length / chunk));
      for (let k = 0; k * chunk < sent.length; k++) {
        expect(Buffer.compare(r.ids.subarray(32 * k, 32 * k + 32), hmac(idKey, sent.subarray(k * chunk, (k + 1) * chunk)))).toBe(0);
      }
    });
  });

  it("serves a batch of files ahead of the frames queued before it, and counts only frames in flight", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const one = new FramePool(encKey, 1, idKey);
    const dir = mkdtempSync(join(tmpdir(), "restorable-readfirst-"));
    try {
      writeFileSync(join(dir, "f"), "small file");
      const order: string[] = [];
      const frames = Array.from({ length: 20 }, (_, i) => one.encode(new Uint8Array(randomBytes(64 * 1024))).then(() => order.push(`frame ${i}`)));
      const read = one.readFiles([join(dir, "f")], [10]).then(() => order.push("read"));
      expect(one.inFlight).toBe(20); // the read is not a frame
      await Promise.all([...frames, read]);
      // The worker serves waiting reads before each frame: the read comes back after the frame it was
      // encoding when the read arrived, not after all twenty.
      expect(order.indexOf("read")).toBeLessThanOrEqual(2);
      expect(one.inFlight).toBe(0);
    } finally {
      await one.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to read without an id key", async () => {
    const plain = new FramePool(encKey, 1);
    try {
      await expect(plain.readFiles(["/etc/hostname"], [1])).rejects.toThrow(/without an id key/);
      await expect(plain.hashStream().block(new Uint8Array(10), 4)).rejects.toThrow(/without an id key/);
    } finally {
      await plain.close();
    }
  });
});
