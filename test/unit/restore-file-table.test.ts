import { describe, expect, it } from "vitest";
import type { ListingEntry } from "../../src/core/manifest.js";
import { FileTable } from "../../src/ops/restore/file-table.js";
import { CHUNK_FIELDS } from "../../src/ops/restore/segments.js";

const file = (p: string, s: number, extra: Partial<ListingEntry> = {}): ListingEntry =>
  ({ t: "f", p, m: 0o100644, u: 1, g: 2, mt: 1_700_000_000_000, s, c: ["00".repeat(32)], ...extra }) as ListingEntry;

const DB = { capturedAt: 1, pageSize: 4096, pageCount: 2, quickCheck: "ok", journalMode: "wal" };

describe("FileTable (restore's files in columns)", () => {
  it("keeps each file's facts, chunk fields and ids apart across slab growth, and names its paths", () => {
    const t = new FileTable("/t", ["app", "db"], "abc123");
    const n = 3000; // several slab growths
    for (let i = 0; i < n; i++) t.add(i % 2, file(`dir/f${i}`, i, i === 7 ? { h: "ab".repeat(32), q: DB } : {}));
    for (let i = 0; i < n; i++) {
      const chunks = i % 3; // 0, 1 or 2 chunks
      const ids = new Uint8Array(32 * chunks).map((_, k) => (i + k) & 0xff);
      const fields = new Float64Array(CHUNK_FIELDS * chunks).map((_, k) => i * 100 + k);
      t.setChunks(ids, fields);
    }
    expect(t.count).toBe(n);
    t.freeze(); // trims the chunk slabs: every file keeps its chunks
    for (const i of [0, 1, 2, 7, 1234, n - 1]) {
      const chunks = i % 3;
      expect(Array.from(t.table(i))).toEqual(Array.from({ length: CHUNK_FIELDS * chunks }, (_, k) => i * 100 + k));
      for (let c = 0; c < chunks; c++) expect(t.chunkId(i, c)[0]).toBe((i + 32 * c) & 0xff);
      expect(t.path(i)).toBe(`dir/f${i}`);
      expect(t.size(i)).toBe(i);
      expect(t.metadata(i)).toEqual({ mode: 0o644, mtime: 1_700_000_000_000, uid: 1, gid: 2 });
      expect(t.sha256(i)).toBe(i === 7 ? "ab".repeat(32) : undefined);
      expect(t.isDatabase(i)).toBe(i === 7);
    }
    expect(t.abs(3)).toBe("/t/db/dir/f3");
    expect(t.temp(3)).toBe(`/t/db/dir/.restorable-tmp-abc123-${(3).toString(36)}`);
    expect(t.temp(1234)).not.toBe(t.temp(1235));
    expect(() => t.setChunks(new Uint8Array(0), new Float64Array(0))).toThrow(RangeError);
  });

  it("shares its file columns (paths in UTF-8, metadata, hashes) in shared memory, and takes no more files after", () => {
    const t = new FileTable("/t", ["app"], "tag");
    t.add(0, file("plain", 1));
    t.add(0, file("dossier/café ☕.txt", 2, { h: "0f".repeat(32), m: 0o104755 }));
    t.add(0, file("db.sqlite", 3, { q: DB }));
    const c = t.freeze();
    expect(c.paths.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(c.mode.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(c.paths.subarray(c.pathEnd[0], c.pathEnd[1])).toString()).toBe("dossier/café ☕.txt");
    expect(t.path(1)).toBe("dossier/café ☕.txt");
    expect(Array.from(c.mode)).toEqual([0o644, 0o4755, 0o644]); // permission bits only
    expect(Array.from(c.hasSha256)).toEqual([0, 1, 0]);
    expect(Buffer.from(c.sha256.subarray(32, 64)).toString("hex")).toBe("0f".repeat(32));
    expect(Array.from(c.database)).toEqual([0, 0, 1]);
    expect(t.freeze()).toBe(c);
    expect(() => t.add(0, file("late", 1))).toThrow(RangeError);
  });

  it("refuses a listing sha256 that is not 64 hex digits", () => {
    const t = new FileTable("/t", ["app"], "tag");
    expect(() => t.add(0, file("x", 1, { h: "zz".repeat(32) }))).toThrow(/x: the listing's sha256 "zz/);
  });
});
