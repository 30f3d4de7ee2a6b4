import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hmac, random } from "../../src/core/crypto.js";
import { PackBuilder, type PackEntry } from "../../src/core/pack.js";
import { RestoreJobError, RestorePool, type FileMeta, type JobFile } from "../../src/ops/restore/restore-pool.js";

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

/** A write job for `files` (each: chunk numbers in the pack, and the file offset of its first chunk). */
function job(pool: RestorePool, p: { bytes: Uint8Array; entries: PackEntry[] }, files: { temp: string; chunks: number[]; at?: number; whole?: FileMeta; file?: number }[]) {
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
  const jobFiles: JobFile[] = files.map((f, n) => {
    const chunks: number[] = [];
    const ids = new Uint8Array(32 * f.chunks.length);
    let pos = f.at ?? 0;
    f.chunks.forEach((c, k) => {
      const e = p.entries[c]!;
      chunks.push(offsets.indexOf(e.frameOffset), e.innerOffset, e.length, pos);
      ids.set(e.id, 32 * k);
      pos += e.length;
    });
    return { file: f.file ?? n, temp: f.temp, chunks, ids, ...(f.whole ? { whole: f.whole } : {}) };
  });
  return { buf, frames, files: jobFiles };
}

describe("restore pool", () => {
  const pool = new RestorePool({ encKey, idKey }, 2);
  const dir = mkdtempSync(join(tmpdir(), "restore-pool-"));
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const text = new TextEncoder().encode("a line of a text file\n".repeat(600));
  const noise = new Uint8Array(randomBytes(9000));
  const chunks = [text.subarray(0, 5000), text.subarray(5000), noise, new TextEncoder().encode("tail")];
  const p = pack(chunks.map((c) => c.slice()));
  const meta = (name: string, content: Uint8Array, over: Partial<FileMeta> = {}): FileMeta => ({
    abs: join(dir, name), mode: 0o640, mtime: 1_600_000_000.5, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0,
    sha256: sha(content), dropSidecars: false, ...over,
  });

  it("writes whole files: content, mode, mtime, renamed from the temporary name, sidecars removed", async () => {
    const content = Buffer.concat([chunks[0]!, chunks[1]!, chunks[2]!]);
    writeFileSync(join(dir, "db.sqlite-wal"), "stale");
    await pool.run(job(pool, p, [
      { temp: join(dir, ".t1"), chunks: [0, 1, 2], whole: meta("a.txt", content) },
      { temp: join(dir, ".t2"), chunks: [3], whole: meta("db.sqlite", chunks[3]!, { dropSidecars: true, mode: 0o600 }) },
    ]));
    expect(Buffer.compare(readFileSync(join(dir, "a.txt")), content)).toBe(0);
    expect(statSync(join(dir, "a.txt")).mode & 0o7777).toBe(0o640);
    expect(statSync(join(dir, "a.txt")).mtimeMs).toBe(1_600_000_000_500);
    expect(readFileSync(join(dir, "db.sqlite"), "utf8")).toBe("tail");
    expect(existsSync(join(dir, "db.sqlite-wal"))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith(".t"))).toEqual([]);
  });

  it("writes a file spread over several jobs into its temporary file, then finish checks and places it", async () => {
    const content = Buffer.concat(chunks);
    const temp = join(dir, ".split");
    writeFileSync(temp, "", { mode: 0o600 });
    const first = chunks[0]!.length + chunks[1]!.length;
    // Second half first: jobs may complete in any order.
    await Promise.all([
      pool.run(job(pool, p, [{ temp, chunks: [2, 3], at: first }])),
      pool.run(job(pool, p, [{ temp, chunks: [0, 1] }])),
    ]);
    await pool.run({ file: 7, temp, meta: meta("split.bin", content) });
    expect(Buffer.compare(readFileSync(join(dir, "split.bin")), content)).toBe(0);
    expect(existsSync(temp)).toBe(false);
  });

  it("fails a finish whose content does not match the listing's SHA-256, and leaves no file under the final name", async () => {
    const temp = join(dir, ".bad-finish");
    writeFileSync(temp, "not what the listing says");
    const err = await pool.run({ file: 3, temp, meta: meta("bad-finish", new Uint8Array([1])) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreJobError);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: 3 });
    expect((err as RestoreJobError).detail.message).toMatch(/sha256/);
    expect(existsSync(join(dir, "bad-finish"))).toBe(false);
  });

  it("refuses a whole file whose content does not match the listing's SHA-256", async () => {
    const err = await pool.run(job(pool, p, [{ temp: join(dir, ".t3"), chunks: [3], whole: meta("wrong-hash", new Uint8Array([9])), file: 5 }])).catch((e: unknown) => e);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: 5 });
    expect(existsSync(join(dir, "wrong-hash"))).toBe(false);
  });

  it("names the file of a chunk that does not match its id, and of a damaged frame", async () => {
    const j = job(pool, p, [{ temp: join(dir, ".t4"), chunks: [3], whole: meta("never", chunks[3]!), file: 11 }]);
    j.files[0]!.ids[0]! ^= 1;
    const bad = await pool.run(j).catch((e: unknown) => e);
    expect((bad as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: 11 });
    expect((bad as RestoreJobError).detail.message).toMatch(/does not match its id/);
    const k = job(pool, p, [{ temp: join(dir, ".t5"), chunks: [2], whole: meta("never2", chunks[2]!), file: 12 }]);
    k.buf[k.frames[2 * k.files[0]!.chunks[0]!]! + 20]! ^= 0x40; // a bit of the frame holding chunk 2
    const damaged = await pool.run(k).catch((e: unknown) => e);
    expect((damaged as RestoreJobError).detail).toMatchObject({ kind: "integrity", file: 12 });
    expect((damaged as RestoreJobError).detail.message).toMatch(/damaged/);
    expect(existsSync(join(dir, "never"))).toBe(false);
    expect(existsSync(join(dir, "never2"))).toBe(false);
  });

  it("never writes through a symlink at the temporary name", async () => {
    const outside = join(dir, "outside.txt");
    writeFileSync(outside, "keep");
    symlinkSync(outside, join(dir, ".t6"));
    const err = await pool.run(job(pool, p, [{ temp: join(dir, ".t6"), chunks: [3], whole: meta("via-link", chunks[3]!) }])).catch((e: unknown) => e);
    expect((err as RestoreJobError).detail).toMatchObject({ kind: "io", code: "EEXIST" });
    expect(readFileSync(outside, "utf8")).toBe("keep");
    expect(lstatSync(join(dir, ".t6")).isSymbolicLink()).toBe(true);
  });

  it("keeps at most maxInFlight jobs and reuses the buffers workers give back", async () => {
    expect(pool.maxInFlight).toBe(3);
    const runs = Array.from({ length: 6 }, (_, i) => pool.run(job(pool, p, [{ temp: join(dir, `.r${i}`), chunks: [3], whole: meta(`r${i}`, chunks[3]!) }])));
    await Promise.all(runs);
    await pool.room();
    expect(pool.inFlight).toBe(0);
    const before = pool.buffer(10).buffer;
    expect(before.byteLength).toBeGreaterThanOrEqual(4 * 1024 * 1024); // a recycled (or fresh) 4 MiB buffer
    for (let i = 0; i < 6; i++) expect(readFileSync(join(dir, `r${i}`), "utf8")).toBe("tail");
  });
});
