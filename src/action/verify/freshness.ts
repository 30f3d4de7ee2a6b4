/**
 * Freshness: is the newest snapshot younger than the allowed age (the RPO)?
 * GitHub runs `on: schedule` workflows on a best-effort basis (they can be
 * delayed, dropped under load, and are disabled after 60 days without
 * activity in public repositories; docs: "Events that trigger workflows",
 * `schedule`), so a backup that silently stopped must fail a check loudly.
 */
import { CheckFailedError } from "../run.js";
import { duration } from "../summary.js";

/** The newest snapshot and how old it is. */
export interface Freshness {
  readonly newestId?: string;
  /** ISO 8601. */
  readonly newestTime?: string;
  /** Age of the newest snapshot at `now`, ms; undefined when there is none. */
  readonly ageMs?: number;
  /** The limit checked, ms; undefined when no limit was set. */
  readonly maxAgeMs?: number;
  /** False when a limit is set and the newest snapshot is older, or missing. */
  readonly fresh: boolean;
}

/** Freshness of `newest` at `now` (ms since the epoch) against `maxAgeMs`. */
export function freshness(newest: { readonly id: string; readonly timeMs: number } | undefined, maxAgeMs: number | undefined, now: number): Freshness {
  const limit = maxAgeMs === undefined ? {} : { maxAgeMs };
  if (!newest) return { ...limit, fresh: maxAgeMs === undefined };
  const ageMs = Math.max(0, now - newest.timeMs);
  return { newestId: newest.id, newestTime: new Date(newest.timeMs).toISOString(), ageMs, ...limit, fresh: maxAgeMs === undefined || ageMs <= maxAgeMs };
}

/** One line for the summary. */
export function freshnessLine(f: Freshness): string {
  if (f.newestId === undefined) return f.maxAgeMs === undefined ? "No snapshot in the repository." : `❌ **No snapshot at all**, and max-age is ${duration(f.maxAgeMs)}.`;
  const age = `newest snapshot \`${f.newestId}\` is ${duration(f.ageMs!)} old`;
  if (f.maxAgeMs === undefined) return `Freshness not checked (no max-age): ${age}.`;
  return f.fresh ? `✅ Fresh: ${age} (max-age ${duration(f.maxAgeMs)}).` : `❌ **Stale**: ${age}, older than max-age ${duration(f.maxAgeMs)}.`;
}

/** @throws CheckFailedError (`STALE`) when `f` is not fresh, saying why and what to look at. */
export function assertFresh(f: Freshness): void {
  if (f.fresh) return;
  if (f.newestId === undefined) throw new CheckFailedError("STALE", `no snapshot in the repository, and max-age is ${duration(f.maxAgeMs!)}: has the backup workflow ever run?`);
  throw new CheckFailedError(
    "STALE",
    `the newest snapshot ${f.newestId} (${f.newestTime}) is ${duration(f.ageMs!)} old, older than max-age ${duration(f.maxAgeMs!)}: ` +
      "scheduled backups stopped or were delayed (GitHub may delay or drop scheduled runs, and disables them after 60 days without activity)",
  );
}
