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
    for (const i of [0, 1, 2, 7, 1234, n - 1]) {
      const chunks = i % 3;
      expect(Array.from(t.table(i))).toEqual(Array.from({ length: CHUNK_FIELDS * chunks }, (_, k) => i * 100 + k));
      for (let c = 0; c < chunks; c++) expect(t.chunkId(i, c)[0]).toBe((i + 32 * c) & 0xff);
      expect(t.entry(i)).toMatchObject({ p: `dir/f${i}`, s: i, m: 0o100644 });
      expect("c" in t.entry(i)).toBe(false); // chunk ids are not kept twice
    }
    expect(t.entry(7)).toMatchObject({ h: "ab".repeat(32), q: DB });
    expect(t.abs(3)).toBe("/t/db/dir/f3");
    expect(t.temp(3)).toBe(`/t/db/dir/.restorable-tmp-abc123-${(3).toString(36)}`);
    expect(t.temp(1234)).not.toBe(t.temp(1235));
    expect(() => t.setChunks(new Uint8Array(0), new Float64Array(0))).toThrow(RangeError);
  });
});
