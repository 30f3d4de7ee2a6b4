import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hmac, random } from "../../src/core/crypto.js";
import { PackBuilder, type PackEntry } from "../../src/core/pack.js";
import { FileTable } from "../../src/ops/restore/file-table.js";
import { RestoreJobError, RestorePool, type PoolJob } from "../../src/ops/restore/restore-pool.js";
import type { ListingEntry } from "../../src/core/manifest.js";

const encKey = random(32);
const idKey = random(32);
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A pack of `chunks` (small frames so a pack has several), with entries in the order added. */
function pack(chunks: Uint8Array[]): { bytes: Uint8Array; entries: PackEntry[] } {
  const b = new PackBuilder({ encKey, frameTarget: 4096 });
  for (const c of chunks) b.add(hmac(idKey, c), 0, c);
  const p = b.finish();
  return { bytes: p.bytes, entries: p.entries.toArray() };
}

/** A write job for `files` (each: its number in the table, chunk numbers in the pack, the file offset of its first chunk). */
function job(pool: RestorePool, p: { bytes: Uint8Array; entries: PackEntry[] }, files: { file: number; chunks: number[]; at?: number; whole?: boolean }[]) {
  const offsets = [...new Set(p.entries.map((e) => e.frameOffset))].sort((a, b) => a - b);
  const size = offsets.reduce((n, o) => n + p.entries.find((e) => e.frameOffset === o)!.frameLength, 0);
  const buf = pool.buffer(size);
  const frames: number[] = [];
  let at = 0;
  for (const o of offsets) {
    const len = p.entries.find((e) => e.frameOffset === o)!.frameLength;
    buf.set(p.bytes.subarray(o, o + len), at);
    frames.push(at, len);
    at += len;
  }
  const total = files.reduce((n, f) => n + f.chunks.length, 0);
  const fileFields = new Float64Array(3 * files.length);
  const chunkFields = new Float64Array(4 * total);
  const ids = new Uint8Array(32 * total);
  let c = 0;
  files.forEach((f, j) => {
    fileFields.set([f.file, f.chunks.length, f.whole ? 1 : 0], 3 * j);
    let pos = f.at ?? 0;
    for (const k of f.chunks) {
      const e = p.entries[k]!;
      chunkFields.set([offsets.indexOf(e.frameOffset), e.innerOffset, e.length, pos], 4 * c);
      ids.set(e.id, 32 * c);
      pos += e.length;
      c++;
    }
  });
  return { buf, frames, files: fileFields, chunks: chunkFields, ids } satisfies PoolJob;
}

describe("restore pool", () => {
  const dir = mkdtempSync(join(tmpdir(), "restore-pool-"));
  const out = join(dir, "s");
  mkdirSync(out);
  const text = new TextEncoder().encode("a line of a text file\n".repeat(600));
  const noise = new Uint8Array(randomBytes(9000));
  const chunks = [text.subarray(0, 5000), text.subarray(5000), noise, new TextEncoder().encode("tail")];
  const p = pack(chunks.map((c) => c.slice()));
  const all = Buffer.concat(chunks);
  // Every file the tests write, planned up front as restore does: name -> content the listing expects.
  const planned: [string, Uint8Array, Partial<ListingEntry>?][] = [
    ["a.txt", all.subarray(0, chunks[0]!.length + chunks[1]!.length + chunks[2]!.length)],
    ["db.sqlite", chunks[3]!, { m: 0o100600, q: { capturedAt: 1, pageSize: 4096, pageCount: 1, quickCheck: "ok", journalMode: "wal" } }],
    ["split.bin", all], ["bad-finish", new Uint8Array([1])], ["wrong-hash", new Uint8Array([9])],
    ["never", chunks[3]!], ["never2", chunks[2]!], ["via-link", chunks[3]!],
    ...Array.from({ length: 6 }, (_, i): [string, Uint8Array] => [`r${i}`, chunks[3]!]),
  ];
  const table = new FileTable(dir, ["s"], "t3st");
  const number = new Map<string, number>();
  for (const [name, content, over] of planned) {
    const e = { t: "f", p: name, m: 0o100640, u: process.getuid?.() ?? 0, g: process.getgid?.() ?? 0, mt: 1_600_000_000_500, ct: 0, i: 0, s: content.length, h: sha(content), ...over } as ListingEntry;
    number.set(name, table.add(0, e));
  }
  const n = (name: string): number => number.get(name)!;
  const pool = new RestorePool({ encKey, idKey }, table.freeze(), 2);
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes whole files: content, mode, mtime, renamed from the temporary name, sidecars removed", async () => {
    writeFileSync(join(out, "db.sqlite-wal"), "stale");
    await pool.run(job(pool, p, [
      { file: n("a.txt"), chunks: [0, 1, 2], whole: true },
      { file: n("db.sqlite"), chunks: [3], whole: true },
    ]));
    expect(Buffer.compare(readFileSync(join(out, "a.txt")), planned[0]![1])).toBe(0);
    expect(statSync(join(out, "a.txt")).mode & 0o7777).toBe(0o640);
    expect(statSync(join(out, "a.txt")).mtimeMs).toBe(1_600_000_000_500);
    expect(readFileSync(join(out, "db.sqlite"), "utf8")).toBe("tail");
    expect(statSync(join(out, "db.sqlite")).mode & 0o7777).toBe(0o600);
    expect(existsSync(join(out, "db.sqlite-wal"))).toBe(false);
    expect(readdirSync(out).filter((f) => f.startsWith(".restorable-tmp"))).toEqual([]);
  });

  it("writes a file spread over several jobs into its temporary file, then finish checks and places it", async () => {
    const temp = table.temp(n("split.bin"));
    writeFileSync(temp, "", { mode: 0o600 });
    const first = chunks[0]!.length + chunks[1]!.length;
    // Second half first: jobs may complete in any order.
    await Promise.all([
      pool.run(job(pool, p, [{ file: n("split.bin"), chunks: [2, 3], at: first }])),
      pool.run(job(pool, p, [{ file: n("split.bin"), chunks: [0, 1] }])),
    ]);
    await pool.run({ file: n("split.bin") });
    expect(Buffer.compare(readFileSync(join(out, "split.bin")), all)).toBe(0);
    expect(existsSync(temp)).toBe(false);
  });

  it("fails a finish whose content does not match the listing's SHA-256, and leaves no file under the final name", async () => {
    writeFileSync(table.temp(n("bad-finish")), "not what the listing says");
    const err = await pool.run({ file: n("bad-finish") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreJobError);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: n("bad-finish") });
    expect((err as RestoreJobError).detail.message).toMatch(/sha256/);
    expect(existsSync(join(out, "bad-finish"))).toBe(false);
  });

  it("refuses a whole file whose content does not match the listing's SHA-256", async () => {
    const err = await pool.run(job(pool, p, [{ file: n("wrong-hash"), chunks: [3], whole: true }])).catch((e: unknown) => e);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: n("wrong-hash") });
    expect(existsSync(join(out, "wrong-hash"))).toBe(false);
  });

  it("names the file of a chunk that does not match its id, and of a damaged frame", async () => {
    const j = job(pool, p, [{ file: n("never"), chunks: [3], whole: true }]);
    j.ids[0]! ^= 1;
    const bad = await pool.run(j).catch((e: unknown) => e);
    expect((bad as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: n("never") });
    expect((bad as RestoreJobError).detail.message).toMatch(/does not match its id/);
    const k = job(pool, p, [{ file: n("never2"), chunks: [2], whole: true }]);
    k.buf[k.frames[2 * k.chunks[0]!]! + 20]! ^= 0x40; // a bit of the frame holding chunk 2
    const damaged = await pool.run(k).catch((e: unknown) => e);
    expect((damaged as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: n("never2") });
    expect((damaged as RestoreJobError).detail.message).toMatch(/damaged/);
    expect(existsSync(join(out, "never"))).toBe(false);
    expect(existsSync(join(out, "never2"))).toBe(false);
  });

  it("never writes through a symlink at the temporary name", async () => {
    const outside = join(dir, "outside.txt");
    writeFileSync(outside, "keep");
    symlinkSync(outside, table.temp(n("via-link")));
    const err = await pool.run(job(pool, p, [{ file: n("via-link"), chunks: [3], whole: true }])).catch((e: unknown) => e);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "io", code: "EEXIST" });
    expect(readFileSync(outside, "utf8")).toBe("keep");
    expect(lstatSync(table.temp(n("via-link"))).isSymbolicLink()).toBe(true);
    expect(existsSync(join(out, "via-link"))).toBe(false);
  });

  it("keeps at most maxInFlight jobs and reuses the buffers workers give back", async () => {
    expect(pool.maxInFlight).toBe(3);
    const runs = Array.from({ length: 6 }, (_, i) => pool.run(job(pool, p, [{ file: n(`r${i}`), chunks: [3], whole: true }])));
    await Promise.all(runs);
    await pool.room();
    expect(pool.inFlight).toBe(0);
    const before = pool.buffer(10).buffer;
    expect(before.byteLength).toBeGreaterThanOrEqual(4 * 1024 * 1024); // a recycled (or fresh) 4 MiB buffer
    for (let i = 0; i < 6; i++) expect(readFileSync(join(out, `r${i}`), "utf8")).toBe("tail");
  });
});
