import { describe, expect, it } from "vitest";
import { ChunkIndex } from "../../src/core/index-codec.js";
import type { ListingEntry } from "../../src/core/manifest.js";
import { ChunkReader } from "../../src/repo/chunk-reader.js";
import { ListingLookup, ListingWriter, listingBatches, readListing } from "../../src/repo/listing.js";
import { PackSink } from "../../src/repo/pack-sink.js";
import { Repository } from "../../src/repo/repository.js";
import { MemoryStore } from "../../src/store/memory.js";

/** 20,000 entries: about 2 MB of JSON lines, several CDC_META tree blobs. */
function entries(): ListingEntry[] {
  return Array.from({ length: 20_000 }, (_, i) => ({
    p: `dir${i % 97}/file-${i}.txt`, t: "f", m: 0o644, u: 1000, g: 1000, mt: 1_700_000_000_000 + i * 1.5, ct: 1_700_000_000_000 + i, i: 5000 + i, s: i * 13,
    h: (i * 2654435761).toString(16).padStart(64, "0"),
  }));
}

describe("ListingWriter", () => {
  it("gives the same tree blobs however the lines are batched, and they read back to the entries", async () => {
    const repo = await Repository.init(new MemoryStore(), { kind: "password", password: "pw" }, { scryptN: 1024 });
    const all = entries();
    const blobs: string[][] = [];
    for (const batch of [100, 4096, 512 * 1024, 1e9]) {
      const sink = new PackSink(repo, new ChunkIndex());
      const writer = new ListingWriter(sink, repo.keys.gearSeed, batch);
      for (const e of all) await writer.add(e);
      blobs.push(await writer.finish());
      expect(writer.count).toBe(all.length);
      await sink.finish();
    }
    expect(blobs[0]!.length).toBeGreaterThan(3);
    for (const b of blobs) expect(b).toEqual(blobs[0]);
    const { index } = await repo.loadIndex();
    const reader = new ChunkReader(repo, index);
    expect(await readListing(reader, blobs[0]!)).toEqual(all);
    // A blob at a time: lines cut by blob boundaries are carried over, none lost or split.
    const batches: ListingEntry[][] = [];
    for await (const batch of listingBatches(reader, blobs[0]!)) batches.push(batch);
    expect(batches.length).toBe(blobs[0]!.length);
    expect(batches.flat()).toEqual(all);
  });

  it("ListingLookup finds each kept entry by path and nothing else", async () => {
    const repo = await Repository.init(new MemoryStore(), { kind: "password", password: "pw" }, { scryptN: 1024 });
    const all: ListingEntry[] = entries().map((e, i) => (i % 5 === 0 ? { p: e.p.replace("file", "dir"), t: "d", m: 0o755, u: 0, g: 0, mt: 1, ct: 1, i: 1, s: 0 } : e));
    const sink = new PackSink(repo, new ChunkIndex());
    const writer = new ListingWriter(sink, repo.keys.gearSeed);
    for (const e of all) await writer.add(e);
    const blobs = await writer.finish();
    await sink.finish();
    const { index } = await repo.loadIndex();
    const lookup = await ListingLookup.read(new ChunkReader(repo, index), blobs, (e) => e.t === "f");
    const files = all.filter((e) => e.t === "f");
    expect(lookup.size).toBe(files.length);
    for (const e of files) expect(lookup.get(e.p)).toEqual(e);
    expect(lookup.get(all[0]!.p)).toBeUndefined(); // a directory: not kept
    expect(lookup.get("no/such/file")).toBeUndefined();
  });
});
