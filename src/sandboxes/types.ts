/**
 * What a sandbox is given (the drill's plan, resolved against one snapshot)
 * and what it reports back. Shared by the local and kind sandboxes;
 * src/ops/drill.ts turns a SandboxRun into the drill report.
 */
import type { CheckAssertion } from "../checks/types.js";
import type { AppConfig, CheckConfig, StepConfig } from "../config/drill-schema.js";
import type { SnapshotManifest } from "../core/manifest.js";
import type { Repository } from "../repo/repository.js";
import type { AppStopResult } from "./app.js";
import type { SandboxRestore } from "./restore-into.js";

/** The parts of the drill a sandbox runs. Strings still hold `${...}` variables. */
export interface SandboxPlan {
  readonly manifest: SnapshotManifest;
  /** Per source name: a path inside the sandbox and/or an env variable that receives its path. */
  readonly placements: Readonly<Record<string, { readonly path?: string; readonly env?: string }>>;
  /** The allow-listed part of restorable's own environment (safeEnv + pass-env). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** `drill.env` (values may use variables). */
  readonly env: Readonly<Record<string, string>>;
  readonly steps: readonly StepConfig[];
  readonly app?: AppConfig;
  readonly checks: readonly CheckConfig[];
  /** Where the canary database is once restored (`${sources.NAME}/path`), and the query reading it. */
  readonly canary?: { readonly db: string; readonly read?: string };
  /** Folder of restorable.yml (`${config}`). */
  readonly configDir: string;
}

/** Progress of a drill, for the CLI's notes. */
export interface DrillEvent {
  readonly phase: "restore" | "steps" | "app" | "checks" | "teardown" | "kind";
  readonly message: string;
}

/** Options shared by the sandboxes. */
export interface SandboxOptions {
  /** The repository, opened read-only (Repository.readOnlyView). */
  readonly repo: Repository;
  readonly plan: SandboxPlan;
  /** Leave the sandbox folder for debugging (the application is still stopped). */
  readonly keep?: boolean;
  /** Aborting it stops the drill: the current phase ends, teardown runs, the run reports `interrupted`. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: DrillEvent) => void;
  /** Parent folder of the sandbox (default: the OS temporary folder). */
  readonly tmpDir?: string;
}

/** Status of a step or check. */
export type ItemStatus = "passed" | "failed" | "skipped";

/** One post-restore step in the report. */
export interface StepRecord {
  readonly name: string;
  readonly type: StepConfig["type"];
  readonly status: ItemStatus;
  readonly observed: string;
  readonly detail?: string;
  readonly durationMs: number;
}

/** One check in the report. */
export interface CheckRecord {
  readonly name: string;
  readonly type: CheckConfig["type"];
  readonly status: ItemStatus;
  readonly expected: string;
  readonly observed: string;
  readonly assertions: readonly CheckAssertion[];
  readonly detail?: string;
  readonly durationMs: number;
}

/** The application in the report. */
export interface AppRecord {
  readonly command: readonly string[];
  readonly pid?: number;
  /** The readiness probe in one line. */
  readonly probe: string;
  readonly ready: boolean;
  /** From the start of the process to the probe succeeding (ms). */
  readonly readyAfterMs?: number;
  /** What the probe saw last (or why it gave up). */
  readonly observed: string;
  readonly logFile: string;
  readonly stop?: AppStopResult;
}

/** Durations of the phases (ms); absent when the phase did not run. */
export interface PhaseDurations {
  readonly restoreMs?: number;
  readonly stepsMs?: number;
  /** From starting the application (or the cluster's workloads) to ready. */
  readonly startToReadyMs?: number;
  readonly checksMs?: number;
  readonly teardownMs?: number;
}

/** What a sandbox run produced. */
export interface SandboxRun {
  readonly sandboxKind: "local" | "kind";
  /** The sandbox folder (removed unless kept). */
  readonly sandbox: string;
  readonly kept: boolean;
  readonly restore?: SandboxRestore;
  /** The canary time found in the restored data (ms since the epoch), or why it was not. */
  readonly canary?: { readonly timeMs?: number; readonly raw?: string; readonly error?: string };
  readonly steps: readonly StepRecord[];
  readonly app?: AppRecord;
  readonly checks: readonly CheckRecord[];
  readonly phases: PhaseDurations;
  /** From the start of the restore to the end of the last check, when every check passed. */
  readonly rtoMs?: number;
  /** The last 4 KiB of the application's output, when it never became ready or a check failed. */
  readonly logTail?: string;
  /** Why the drill failed outside of steps and checks (restore error, app not ready...). */
  readonly failures: readonly string[];
  readonly interrupted: boolean;
  /** Problems while tearing down (a process left, a folder not removed). */
  readonly teardownProblems: readonly string[];
  /** kind only: the commands that ran, with their outcome. */
  readonly commands?: readonly { readonly argv: readonly string[]; readonly ok: boolean; readonly observed: string }[];
}
