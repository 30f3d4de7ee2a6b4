import { describe, expect, it } from "vitest";
import { CHUNK_FIELDS, planSegments } from "../../src/ops/restore/segments.js";

/** A chunk table from [pack, frameOffset, frameLength] per chunk (each chunk 100 bytes, alone in its frame). */
function table(chunks: [number, number, number][]): Float64Array {
  const t = new Float64Array(chunks.length * CHUNK_FIELDS);
  chunks.forEach(([pack, off, len], i) => t.set([pack, off, len, 0, 100, i * 100], i * CHUNK_FIELDS));
  return t;
}

describe("restore segments", () => {
  it("keeps a file with every chunk in one pack whole, cuts a file spread over packs, and orders packs by first need", () => {
    const files = [
      table([[1, 0, 1000], [1, 1000, 1000]]), // whole, pack 1
      table([[0, 0, 1000], [1, 2000, 1000], [0, 1000, 1000]]), // split: packs 0 and 1
      new Float64Array(0), // empty
    ];
    const plan = planSegments(files, 1 << 20);
    expect(plan.whole).toEqual([true, false, false]);
    expect(plan.segments.map((s) => s.pack)).toEqual([1, 0]);
    expect(plan.segments[0]!.files).toEqual([{ file: 0, whole: true, chunks: [0, 1] }, { file: 1, whole: false, chunks: [1] }]);
    expect(plan.segments[1]!.files).toEqual([{ file: 1, whole: false, chunks: [0, 2] }]);
    expect(plan.segmentsPerFile).toEqual([1, 2, 0]);
    expect(plan.segments[0]!.bytes).toBe(3000);
    expect([...plan.segments[0]!.frames.keys()]).toEqual([0, 1000, 2000]);
  });

  it("starts a new segment when one is full, never cutting a whole file, and counts a shared frame once", () => {
    const big = table(Array.from({ length: 5 }, (_, i): [number, number, number] => [0, i * 1000, 1000]));
    const small = table([[0, 5000, 1000], [0, 5000, 1000]]); // two chunks in one frame
    const split = table([[0, 6000, 1000], [0, 7000, 1000], [0, 8000, 1000], [1, 0, 1000]]);
    const plan = planSegments([big, small, split], 2500);
    // big (5000 bytes) stays in one segment although it exceeds 2500; small opens the next.
    expect(plan.segments[0]!.files).toEqual([{ file: 0, whole: true, chunks: [0, 1, 2, 3, 4] }]);
    expect(plan.segments[0]!.bytes).toBe(5000);
    expect(plan.segments[1]!.files[0]).toEqual({ file: 1, whole: true, chunks: [0, 1] });
    // the split file is cut at a chunk boundary once its segment is full
    const parts = plan.segments.flatMap((s) => s.files.filter((f) => f.file === 2).map((f) => [s.pack, f.chunks]));
    expect(parts).toEqual([[0, [0, 1]], [0, [2]], [1, [3]]]);
    expect(plan.segmentsPerFile[2]).toBe(3);
    for (const s of plan.segments) expect(s.bytes).toBe([...s.frames.values()].reduce((a, b) => a + b, 0));
  });
});
