import { describe, expect, it } from "vitest";
import { HeadStart } from "../../src/ops/snapshot/head-start.js";
import type { SourceEntry } from "../../src/sources/types.js";

function entry(path: string, release?: () => Promise<void>): SourceEntry {
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, ctimeMs: 0, ino: 0, size: 0, reusable: false, ...(release ? { release } : {}) };
}

/** A source of `n` entries named e0..e(n-1) that counts what was pulled and whether it was closed; `copyAt` makes entry i a database copy. */
function source(n: number, opts: { copyAt?: number; failAt?: number; released?: string[] } = {}) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<SourceEntry> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === opts.failAt) throw new Error(`walk failed at e${i}`);
        state.pulled++;
        await Promise.resolve();
        yield entry(`e${i}`, i === opts.copyAt ? async () => void opts.released?.push(`e${i}`) : undefined);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, gen: gen() };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

async function paths(it: AsyncIterable<SourceEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(e.path);
  return out;
}

describe("HeadStart", () => {
  it("walks up to its head start before anyone consumes, then hands out every entry in order", async () => {
    const { state, gen } = source(100);
    const h = new HeadStart(gen, { headStart: 30, ahead: 5 });
    await settle();
    expect(state.pulled).toBe(30);
    expect(await paths(h)).toEqual(Array.from({ length: 100 }, (_, i) => `e${i}`));
    expect(state.closed).toBe(true);
  });

  it("hands out a database copy as soon as the walk gives it, ahead of the entries buffered before it", async () => {
    const { gen } = source(20, { copyAt: 12 });
    const h = new HeadStart(gen, { headStart: 15, ahead: 5 });
    await settle();
    const got = await paths(h);
    expect(got[0]).toBe("e12");
    expect(got.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).filter((p) => p !== "e12"));
  });

  it("rethrows the walk's error after the entries that came before it", async () => {
    const { gen } = source(10, { failAt: 4 });
    const h = new HeadStart(gen, { headStart: 8, ahead: 8 });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const e of h) got.push(e.path);
      })(),
    ).rejects.toThrow("walk failed at e4");
    expect(got).toEqual(["e0", "e1", "e2", "e3"]);
  });

  it("cancel() stops the walk and releases the database copies nobody consumed", async () => {
    const released: string[] = [];
    const { state, gen } = source(50, { copyAt: 3, released });
    const h = new HeadStart(gen, { headStart: 10, ahead: 10 });
    await settle();
    await h.cancel();
    expect(state.closed).toBe(true);
    expect(released).toEqual(["e3"]);
    expect(state.pulled).toBeLessThanOrEqual(11);
  });

  it("a consumer that stops early closes the walk and releases what is left", async () => {
    const released: string[] = [];
    const { state, gen } = source(50, { copyAt: 8, released });
    const h = new HeadStart(gen, { headStart: 2, ahead: 2 });
    for await (const e of h) if (e.path === "e1") break;
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(50);
    expect(released).toEqual([]); // e8 was never walked
  });
});
