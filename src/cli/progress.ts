/**
 * Progress display. On a terminal: a `cli-progress` bar redrawn up to 10
 * times a second (files, bytes, rate, and ETA when the total is known).
 * Elsewhere (CI logs, pipes): a plain line at most every `intervalMs`
 * (5 s) and one at the end. Always written to stderr, so stdout stays the
 * command's result (one JSON document with `--json`).
 */
import { createRequire } from "node:module";
import type cliProgressModule from "cli-progress";
import { formatBytes, formatDuration } from "./format.js";

/** What a running operation reports. Bytes are bytes. */
export interface ProgressState {
  readonly files: number;
  readonly bytes: number;
  /** Total count when known (verify knows how many packs it reads): gives a percentage and ETA without byte totals. */
  readonly totalFiles?: number;
}

export interface Progress {
  update(state: ProgressState): void;
  /** Final line (plain mode) or bar removal (terminal). Safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /** Shown first: `snapshot`, `restore`, `verify`. */
  readonly label: string;
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Total bytes when known: enables the bar's percentage and the ETA. */
  readonly totalBytes?: number;
  /** Unit of `files` in messages (default `files`). */
  readonly unit?: string;
  /** Show byte counts and rates (default true; verify counts packs only). */
  readonly bytes?: boolean;
  /** Plain mode: minimum ms between lines (default 5000). */
  readonly intervalMs?: number;
  /** Monotonic clock in ms (tests). */
  readonly now?: () => number;
}

/** A progress display that shows nothing (`--quiet`). */
export const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined };

/** Share done (0..1) when a total is known. */
function fraction(s: ProgressState, totalBytes: number | undefined): number | undefined {
  if (totalBytes) return Math.min(1, s.bytes / totalBytes);
  if (s.totalFiles) return Math.min(1, s.files / s.totalFiles);
  return undefined;
}

function describe(options: ProgressOptions, s: ProgressState, elapsedMs: number): string {
  const total = options.totalBytes;
  const parts = [`${options.label}: ${s.files}${s.totalFiles ? ` of ${s.totalFiles}` : ""} ${options.unit ?? "files"}`];
  if (options.bytes !== false) {
    const rate = elapsedMs > 0 ? (s.bytes / elapsedMs) * 1000 : 0;
    parts.push(total ? `${formatBytes(s.bytes)} of ${formatBytes(total)}` : formatBytes(s.bytes), `${formatBytes(rate)}/s`);
  }
  const f = fraction(s, total);
  if (f !== undefined && f > 0 && f < 1) parts.push(`ETA ${formatDuration((elapsedMs * (1 - f)) / f)}`);
  return parts.join(", ");
}

/** Plain lines, throttled: for logs. */
export function plainProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 5000;
  const started = now();
  let last = started;
  let state: ProgressState | undefined;
  let stopped = false;
  return {
    update(s) {
      state = s;
      const t = now();
      if (t - last >= interval) {
        last = t;
        options.stream.write(describe(options, s, t - started) + "\n");
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (state) options.stream.write(`${describe(options, state, now() - started)}, done in ${formatDuration(now() - started)}\n`);
    },
  };
}

/**
 * cli-progress, loaded on first use: only a terminal draws a bar, and loading it (16 modules, about
 * 16 ms here) at every start was a visible share of short commands such as prune in CI.
 */
function cliProgress(): typeof cliProgressModule {
  return createRequire(import.meta.url)("cli-progress") as typeof cliProgressModule;
}

/** A redrawn bar: for terminals. */
export function barProgress(options: ProgressOptions): Progress {
  const started = performance.now();
  let state: ProgressState = { files: 0, bytes: 0 };
  const bar = new (cliProgress().SingleBar)({
    stream: options.stream,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    format: () => {
      const text = describe(options, state, performance.now() - started);
      const f = fraction(state, options.totalBytes);
      if (f === undefined) return text;
      const width = 24;
      const full = Math.round(f * width);
      return `[${"=".repeat(full)}${"-".repeat(width - full)}] ${Math.floor(f * 100)}% ${text}`;
    },
  });
  bar.start(1000, 0);
  let stopped = false;
  return {
    update(s) {
      state = s;
      bar.update(Math.round((fraction(s, options.totalBytes) ?? 0) * 1000));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** The display for `stream`: a bar on a terminal, plain lines otherwise, nothing when `quiet`. */
export function createProgress(options: ProgressOptions & { readonly quiet?: boolean }): Progress {
  if (options.quiet) return NO_PROGRESS;
  return options.stream.isTTY ? barProgress(options) : plainProgress(options);
}
