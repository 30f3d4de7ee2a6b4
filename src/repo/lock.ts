/**
 * Repository locks (docs/format.md, "Locks").
 *
 * Every lock is its own object `locks/<kind>-<random>`, created with a
 * conditional create (never overwrites another lock). Acquiring is
 * create-then-list: after creating its object a locker lists `locks/`, and if
 * it sees a fresh conflicting lock it removes its own and fails. With
 * list-after-write consistency (probed by `init`) two conflicting lockers can
 * never both succeed: whichever listed second sees the other. Shared locks
 * (snapshot, key changes) do not conflict with each other; an exclusive lock
 * (prune) conflicts with everything.
 *
 * Staleness does not depend on host names (CI runners reuse them): a lock is
 * stale when both its own `refreshedAt` and the store's LastModified are
 * older than `staleAfterMs`. A holder refreshes every `refreshEveryMs`, and
 * before it commits it calls `assertFresh()`, which measures on the
 * monotonic clock how long ago its last refresh succeeded (fencing): if
 * another process could already have judged the lock stale, the commit is
 * aborted with LockLostError.
 */
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { random, toHex } from "../core/crypto.js";
import { openJson, sealJson } from "../core/envelope.js";
import { IntegrityError, LockLostError, LockedError } from "../core/errors.js";
import type { ObjectStore } from "../store/types.js";
import { LOCKS_PREFIX } from "./layout.js";
import type { Repository } from "./repository.js";

export type LockKind = "shared" | "exclusive";

/** The body of a lock object (encrypted). Times in ms since the epoch. */
export interface LockInfo {
  readonly id: string;
  readonly kind: LockKind;
  readonly purpose: string;
  readonly host: string;
  readonly pid: number;
  readonly createdAt: number;
  readonly refreshedAt: number;
}

/** A lock as found in the store. */
export interface FoundLock {
  readonly key: string;
  readonly info: LockInfo | undefined;
  /** Store LastModified, ms. */
  readonly lastModified: number;
  readonly stale: boolean;
}

/** Timing of locks, in ms. */
export interface LockTiming {
  /** A lock not refreshed for this long is stale (default 30 min). */
  readonly staleAfterMs: number;
  /** How often a holder refreshes (default 5 min). */
  readonly refreshEveryMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { staleAfterMs: 30 * 60_000, refreshEveryMs: 5 * 60_000 };

/** Options of `RepoLock.acquire`. */
export interface AcquireOptions {
  readonly purpose: string;
  readonly timing?: LockTiming;
  /** Default: the repository handle's `lockTiming`. */
  /** Keep trying for this long (ms) while a conflicting lock is held; default 0 = fail at once. */
  readonly waitMs?: number;
  /** Wall clock, for tests. */
  readonly now?: () => number;
}

const conflicts = (a: LockKind, b: LockKind): boolean => a === "exclusive" || b === "exclusive";

/** Lists every lock object and judges its staleness. Undecryptable lock objects count as fresh unless old by LastModified. */
export async function listLocks(repo: Repository, timing: LockTiming = repo.lockTiming, now: number = Date.now()): Promise<FoundLock[]> {
  const objects = await repo.store.list(LOCKS_PREFIX);
  const found: FoundLock[] = [];
  for (const o of objects) {
    let info: LockInfo | undefined;
    try {
      info = openJson<LockInfo>(repo.keys.encKey, "lock", await repo.store.get(o.key), o.key);
    } catch (err) {
      if (!(err instanceof IntegrityError) && (err as { code?: string }).code !== "NOT_FOUND") throw err;
      if ((err as { code?: string }).code === "NOT_FOUND") continue; // released meanwhile
    }
    const newest = Math.max(info?.refreshedAt ?? 0, o.lastModified);
    found.push({ key: o.key, info, lastModified: o.lastModified, stale: now - newest > timing.staleAfterMs });
  }
  return found;
}

/** A held lock. Call `release()` in a `finally`. */
export class RepoLock {
  private timer: NodeJS.Timeout | undefined;
  private lastRefreshMono: number;
  private refreshError: unknown;
  private released = false;
  /** The refresh in flight, so `release` never deletes the object before a refresh re-creates it. */
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly store: ObjectStore,
    private readonly encKey: Uint8Array,
    readonly key: string,
    private info: LockInfo,
    private readonly timing: LockTiming,
    private readonly now: () => number,
    startedMono: number,
  ) {
    this.lastRefreshMono = startedMono;
  }

  /**
   * Takes a lock of `kind`.
   * @throws LockedError naming the holder when a fresh conflicting lock exists (after `waitMs`).
   */
  static async acquire(repo: Repository, kind: LockKind, options: AcquireOptions): Promise<RepoLock> {
    const timing = options.timing ?? repo.lockTiming;
    const now = options.now ?? Date.now;
    const deadline = performance.now() + (options.waitMs ?? 0);
    for (;;) {
      const startedMono = performance.now();
      const t = now();
      const info: LockInfo = { id: toHex(random(8)), kind, purpose: options.purpose, host: hostname(), pid: process.pid, createdAt: t, refreshedAt: t };
      const key = `${LOCKS_PREFIX}${kind}-${info.id}`;
      await repo.store.put(key, sealJson(repo.keys.encKey, "lock", info), { ifNoneMatch: true });
      const others = (await listLocks(repo, timing, now())).filter((l) => l.key !== key && !l.stale);
      const blocking = others.filter((l) => conflicts(kind, l.info?.kind ?? "exclusive"));
      if (blocking.length === 0) {
        const lock = new RepoLock(repo.store, repo.keys.encKey, key, info, timing, now, startedMono);
        lock.startRefreshing();
        return lock;
      }
      await repo.store.delete(key);
      if (performance.now() >= deadline) {
        const b = blocking[0]!;
        const who = b.info ? `${b.info.kind} lock for ${b.info.purpose} by ${b.info.host} pid ${b.info.pid}, refreshed ${new Date(b.info.refreshedAt).toISOString()}` : b.key;
        throw new LockedError(`repository is locked: ${who} (${blocking.length} conflicting lock(s); \`restorable unlock\` removes stale ones)`, { key: b.key });
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(50, deadline - performance.now()))));
    }
  }

  private startRefreshing(): void {
    this.timer = setInterval(() => {
      if (this.refreshing) return;
      this.refreshing = this.refresh()
        .catch((err: unknown) => {
          this.refreshError = err;
        })
        .finally(() => {
          this.refreshing = undefined;
        });
    }, this.timing.refreshEveryMs);
    this.timer.unref();
  }

  /** Rewrites the lock object with a new `refreshedAt`; on success restarts the fencing clock. */
  async refresh(): Promise<void> {
    if (this.released) return;
    const startedMono = performance.now();
    this.info = { ...this.info, refreshedAt: this.now() };
    await this.store.put(this.key, sealJson(this.encKey, "lock", this.info));
    this.lastRefreshMono = startedMono;
    this.refreshError = undefined;
  }

  /**
   * Fencing check, called just before a commit: the last successful refresh
   * must be recent enough that nobody can have judged this lock stale, and the
   * lock object must still exist (not removed by `unlock --force`).
   * @throws LockLostError otherwise.
   */
  async assertFresh(): Promise<void> {
    const margin = Math.min(60_000, this.timing.staleAfterMs / 4);
    const age = Math.round(performance.now() - this.lastRefreshMono);
    if (age > this.timing.staleAfterMs - margin) {
      throw new LockLostError(`lock ${this.key} was last refreshed ${age} ms ago (stale after ${this.timing.staleAfterMs} ms); aborting before commit${this.refreshError ? `: ${(this.refreshError as Error).message}` : ""}`, { key: this.key });
    }
    if (!(await this.store.stat(this.key))) throw new LockLostError(`lock ${this.key} was removed by another process; aborting before commit`, { key: this.key });
  }

  /** Stops refreshing and removes the lock object. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.store.delete(this.key);
  }
}

/**
 * Removes stale locks (all locks with `force`).
 * @returns the keys removed.
 */
export async function unlock(repo: Repository, options: { readonly force?: boolean; readonly timing?: LockTiming } = {}): Promise<string[]> {
  const locks = await listLocks(repo, options.timing);
  const victims = locks.filter((l) => options.force || l.stale).map((l) => l.key);
  await repo.store.deleteMany(victims);
  return victims;
}
