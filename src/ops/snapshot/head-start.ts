/**
 * Walks a source ahead of the snapshot loop, from before the repository is
 * open. Opening a repository with a password spends 0.3-0.6 s in scrypt (on
 * libuv's thread pool, core/crypto.ts), and nothing of the walk needs a key:
 * its lstat and readdir calls, the SQLite detection and the first database's
 * copy run meanwhile, up to `headStart` entries. Once the consumer comes, the
 * walk stays up to `ahead` entries in front of it.
 *
 * Entries come out in the walk's order, except database copies the consumer
 * releases itself (`release`, stored alongside the walk and listed after it):
 * those come out as soon as the walk hands them over, ahead of the entries
 * buffered before them. Behind the 16,384 entries of a D1 head start, the
 * database waited 0.6 s for the consumer to reach it, and its storing is the
 * long pole of that snapshot.
 */
import type { SourceEntry } from "../../sources/types.js";

/** Bounds of a {@link HeadStart}, in entries (each a few hundred bytes of metadata). */
export interface HeadStartBounds {
  /** Buffered at most before the consumer comes. */
  readonly headStart: number;
  /** Buffered at most once it came. */
  readonly ahead: number;
}

/** A source's entries, walked ahead of their consumer (see the module comment). */
export class HeadStart implements AsyncIterable<SourceEntry> {
  /** When the walk began (ms since the epoch): the source record's `startedAt`. */
  readonly startedAt = Date.now();
  private readonly it: AsyncIterator<SourceEntry>;
  private readonly buffered: SourceEntry[] = [];
  private limit: number;
  private ended = false;
  private failure: { readonly err: unknown } | undefined;
  private stopped = false;
  private taken = false;
  /** Wakes the consumer waiting for an entry. */
  private wake: (() => void) | undefined;
  /** Wakes the walk waiting for room. */
  private room: (() => void) | undefined;
  private readonly walking: Promise<void>;

  /** Starts walking `source` at once. */
  constructor(
    source: AsyncIterable<SourceEntry>,
    private readonly bounds: HeadStartBounds,
  ) {
    this.it = source[Symbol.asyncIterator]();
    this.limit = bounds.headStart;
    this.walking = this.walk();
  }

  private async walk(): Promise<void> {
    try {
      while (!this.stopped) {
        if (this.buffered.length >= this.limit) {
          await new Promise<void>((r) => (this.room = r));
          continue;
        }
        const r = await this.it.next();
        if (r.done) break;
        if (r.value.release) this.buffered.unshift(r.value);
        else this.buffered.push(r.value);
        this.signal("wake");
      }
    } catch (err) {
      this.failure = { err };
    } finally {
      this.ended = true;
      this.signal("wake");
    }
  }

  private signal(which: "wake" | "room"): void {
    const f = this[which];
    this[which] = undefined;
    f?.();
  }

  /**
   * The entries (see the module comment for their order). Once only.
   * @throws whatever the walk threw, after the entries it yielded before.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<SourceEntry> {
    if (this.taken) throw new Error("internal: a head start is consumed once");
    this.taken = true;
    this.limit = this.bounds.ahead;
    try {
      for (;;) {
        const e = this.buffered.shift();
        if (e) {
          if (this.buffered.length < this.limit) this.signal("room");
          yield e;
        } else if (this.ended) {
          if (this.failure) throw this.failure.err;
          return;
        } else {
          await new Promise<void>((r) => (this.wake = r));
        }
      }
    } finally {
      await this.stop();
    }
  }

  /** Stops the walk when nobody will consume it (the repository did not open): its copies are released. */
  async cancel(): Promise<void> {
    if (this.taken) return;
    this.taken = true;
    await this.stop();
  }

  /** Ends the walk (its generator's `finally` removes a copy in progress) and releases copies never consumed. */
  private async stop(): Promise<void> {
    this.stopped = true;
    this.signal("room");
    await this.walking;
    for (const e of this.buffered.splice(0)) await e.release?.();
    await this.it.return?.();
  }
}
