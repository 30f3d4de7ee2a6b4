/**
 * The drill report: what was restored, every step and check with its
 * observed value, the phases and their durations, RTO and RPO against the
 * budgets, and whether the result was recorded on the snapshot. Printed as
 * JSON (`restorable drill --json`) or Markdown (`--markdown FILE`, see
 * markdown.ts). Times are ISO 8601 UTC, durations ms, sizes bytes.
 *
 * Definitions (docs/drills.md): RTO = from the start of the restore to the
 * end of the last check, when every check passed (null otherwise). RPO =
 * drill start minus the snapshot time; with a canary, also drill start
 * minus the canary time found in the restored data. The budget `max-rpo`
 * applies to the larger of the two (normally the canary's: it was written
 * before the snapshot was taken).
 */
import type { AppRecord, CheckRecord, PhaseDurations, StepRecord } from "../../sandboxes/types.js";

/** The whole report. */
export interface DrillReport {
  readonly ok: boolean;
  readonly status: "passed" | "failed" | "interrupted";
  /** The configuration file, as given. */
  readonly config: string;
  readonly sandbox: { readonly kind: "local" | "kind"; readonly path: string; readonly kept: boolean };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly snapshot: { readonly id: string; readonly time: string; readonly host: string; readonly tags: readonly string[] };
  readonly sources: readonly { readonly name: string; readonly kind: string; readonly path: string; readonly env: string | null; readonly entries: number; readonly bytes: number }[];
  readonly restore: { readonly files: number; readonly bytes: number; readonly durationMs: number } | null;
  readonly steps: readonly StepRecord[];
  readonly app: AppRecord | null;
  readonly checks: readonly CheckRecord[];
  readonly phases: PhaseDurations;
  readonly rtoMs: number | null;
  readonly rpo: { readonly snapshotMs: number; readonly canaryMs: number | null; readonly canaryTime: string | null; readonly canaryError: string | null };
  readonly budgets: { readonly maxRtoMs: number | null; readonly maxRpoMs: number | null; readonly rtoOk: boolean | null; readonly rpoOk: boolean | null };
  /** Why the drill failed, one line each (empty when it passed). */
  readonly failures: readonly string[];
  /** Tail of the application's output (or of the failing kind command), when it never became ready or a check failed. */
  readonly logTail: string | null;
  readonly teardown: { readonly durationMs: number | null; readonly problems: readonly string[] };
  /** kind: the commands that ran. */
  readonly commands: readonly { readonly argv: readonly string[]; readonly ok: boolean; readonly observed: string }[] | null;
  /** Whether the result was stored as a `drill` annotation on the snapshot. */
  readonly recorded: { readonly ok: boolean; readonly key: string | null; readonly reason: string | null };
}

/** A duration in ms as `850 ms`, `12.3 s`, `4m05s`, `26h03m`, `3d04h`. */
export function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

/** One line for `snapshots` and annotations: `passed: 5/5 checks, RTO 3.2 s, RPO 2h05m`. */
export function reportSummary(r: Pick<DrillReport, "ok" | "status" | "checks" | "rtoMs" | "rpo" | "failures">): string {
  const passed = r.checks.filter((c) => c.status === "passed").length;
  const rpo = Math.max(r.rpo.canaryMs ?? 0, r.rpo.snapshotMs);
  if (r.ok) return `passed: ${passed}/${r.checks.length} checks, RTO ${r.rtoMs !== null ? humanMs(r.rtoMs) : "-"}, RPO ${humanMs(rpo)}`;
  return `${r.status === "interrupted" ? "interrupted" : "FAILED"}: ${r.failures[0] ?? "unknown reason"}`;
}
