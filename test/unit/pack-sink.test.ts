import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ChunkIndex } from "../../src/core/index-codec.js";
import { decodePack, readPackChunks } from "../../src/core/pack.js";
import { toHex } from "../../src/core/crypto.js";
import { FramePool } from "../../src/repo/frame-pool.js";
import { PackSink } from "../../src/repo/pack-sink.js";
import { Repository } from "../../src/repo/repository.js";
import { MemoryStore } from "../../src/store/memory.js";
import { DATA_PREFIX } from "../../src/repo/layout.js";

const PACK_TARGET = 1024 * 1024;

describe("PackSink", () => {
  const pools: FramePool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  for (const withPool of [false, true]) {
    it(`keeps packs near their target, stores each chunk once, indexes every pack (${withPool ? "worker pool, recycled buffers" : "this thread"})`, async () => {
      const store = new MemoryStore();
      const repo = await Repository.init(store, { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: PACK_TARGET });
      const pool = withPool ? new FramePool(repo.keys.encKey, 2) : undefined;
      if (pool) pools.push(pool);
      const sink = new PackSink(repo, new ChunkIndex(), pool);
      // Small chunks, and big ones (up to 400 KiB, like CDC chunks against a small pack target) that
      // arrive when a pack is nearly full; incompressible, so sealed sizes track plaintext sizes.
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < 120; i++) chunks.push(new Uint8Array(randomBytes(i % 10 === 9 ? 400 * 1024 : 3000 + ((i * 7919) % 60000))));
      const ids = new Map<string, Uint8Array>();
      for (const c of [...chunks, ...chunks.slice(0, 30)]) {
        const id = sink.chunkId(c);
        ids.set(toHex(id), c);
        await sink.offer(id, c, 0);
      }
      const { indexFile } = await sink.finish();
      expect(sink.stats.chunksTotal).toBe(150);
      expect(sink.stats.chunksNew).toBe(120);

      const packs = await store.list(DATA_PREFIX);
      expect(packs.length).toBe(sink.stats.packsWritten);
      expect(packs.length).toBeGreaterThan(3);
      const seen = new Map<string, string>();
      for (const o of packs) {
        const bytes = await store.get(o.key);
        // A pack closes before a chunk that would take it past the target: only header and frame
        // overheads, and the frames still being sealed when it turned full, go beyond.
        expect(bytes.length, o.key).toBeLessThanOrEqual(PACK_TARGET + 64 * 1024);
        for (const { entry, plaintext } of readPackChunks(repo.keys.encKey, bytes, decodePack(repo.keys.encKey, bytes))) {
          const hex = toHex(entry.id);
          expect(seen.has(hex), `chunk ${hex} stored twice`).toBe(false);
          seen.set(hex, o.key);
          expect(Buffer.from(plaintext).equals(Buffer.from(ids.get(hex)!))).toBe(true);
        }
      }
      expect(seen.size).toBe(120);
      const file = await repo.readIndexFile(indexFile!);
      expect(file.packs.length).toBe(packs.length);
      expect(file.packs.reduce((n, p) => n + p.entries.length, 0)).toBe(120);
    });
  }

  it("makes a background producer wait at half the bounds a foreground one waits at", async () => {
    const store = new MemoryStore();
    const repo = await Repository.init(store, { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: PACK_TARGET });
    const pool = new FramePool(repo.keys.encKey, 1);
    pools.push(pool);
    const sink = new PackSink(repo, new ChunkIndex(), pool);
    // 20 frames in flight: past the background bound (16 frames), short of the foreground one (32).
    const frames = Array.from({ length: 20 }, () => pool.encode(new Uint8Array(randomBytes(1000))));
    expect(pool.inFlight).toBe(20);
    const chunk = (n: number) => new Uint8Array(randomBytes(100 + n));
    const fg = chunk(1);
    expect(sink.offer(sink.chunkId(fg), fg, 0)).toBeUndefined(); // taken at once
    const background = sink.background();
    const bg = chunk(2);
    const wait = background.offer(background.chunkId(bg), bg, 0);
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(pool.inFlight).toBeLessThan(16);
    await Promise.all(frames);
    await sink.finish();
    expect(sink.stats.chunksNew).toBe(2);
  });

  it("takes chunks from two producers at once: each chunk stored once, one upload at a time", async () => {
    const store = new MemoryStore();
    const repo = await Repository.init(store, { kind: "password", password: "pw" }, { scryptN: 1024, packTarget: PACK_TARGET });
    const pool = new FramePool(repo.keys.encKey, 2);
    pools.push(pool);
    // Uploads are slow and counted, so both producers fill packs while one uploads.
    let uploading = 0;
    let mostAtOnce = 0;
    const put = store.put.bind(store);
    store.put = async (...args: Parameters<MemoryStore["put"]>) => {
      mostAtOnce = Math.max(mostAtOnce, ++uploading);
      await new Promise((r) => setTimeout(r, 20));
      try {
        return await put(...args);
      } finally {
        uploading--;
      }
    };
    const sink = new PackSink(repo, new ChunkIndex(), pool);
    // A third of the chunks are offered by both producers, in step: many offers of a chunk the
    // other producer placed while this one waited for the encoders or for a pack to close.
    const shared = Array.from({ length: 100 }, (_, i) => new Uint8Array(randomBytes(20_000 + i)));
    const own = (n: number) => Array.from({ length: 100 }, (_, i) => new Uint8Array(randomBytes(30_000 + n * 1000 + i)));
    const produce = async (chunks: Uint8Array[]) => {
      for (const c of chunks) {
        const wait = sink.offer(sink.chunkId(c), c, 0);
        if (wait) await wait;
      }
    };
    const a = [...shared, ...own(1)];
    const b = [...shared, ...own(2)];
    await Promise.all([produce(a), produce(b)]);
    const { indexFile } = await sink.finish();
    expect(sink.stats.chunksTotal).toBe(400);
    expect(sink.stats.chunksNew).toBe(300);
    expect(mostAtOnce).toBe(1);
    const stored = new Set<string>();
    for (const o of await store.list(DATA_PREFIX)) {
      const bytes = await store.get(o.key);
      for (const { entry } of readPackChunks(repo.keys.encKey, bytes, decodePack(repo.keys.encKey, bytes))) {
        const hex = toHex(entry.id);
        expect(stored.has(hex), `chunk ${hex} stored twice`).toBe(false);
        stored.add(hex);
      }
    }
    expect(stored.size).toBe(300);
    const file = await repo.readIndexFile(indexFile!);
    expect(file.packs.reduce((n, p) => n + p.entries.length, 0)).toBe(300);
  });
});
