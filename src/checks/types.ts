/**
 * What every post-restore check returns, and the resolved specs the drill
 * hands to them (variables such as `${sources.pds}` already substituted,
 * durations in ms). The YAML shapes they come from are in
 * src/config/drill-schema.ts; docs/drills.md describes both.
 */
import type { Expectation } from "./compare.js";
import type { JsonPathExpectation } from "./json-path.js";

/** One comparison inside a check (an HTTP JSON-path line, a SQL scalar, ...). */
export interface CheckAssertion {
  /** What was asserted, as written (`$.handle == "alice.test"`, `status in [200]`). */
  readonly what: string;
  readonly ok: boolean;
  /** The value seen, formatted for the report (formatValue). */
  readonly observed: string;
}

/** The result of one check. */
export interface CheckOutcome {
  readonly ok: boolean;
  /** What the check expected, in one line. */
  readonly expected: string;
  /** What it observed, in one line (the first failing assertion's value when it failed). */
  readonly observed: string;
  /** Each assertion with its observed value. */
  readonly assertions: readonly CheckAssertion[];
  /** An error that kept the check from observing anything (connection refused, no such table...), or extra output. */
  readonly detail?: string;
  readonly durationMs: number;
}

/** Common inputs: where relative paths start, and a signal that cancels the check (drill interrupted). */
export interface CheckContext {
  /** Folder relative paths are resolved against (the sandbox). */
  readonly cwd: string;
  /** Environment for commands (already allow-listed). */
  readonly env: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** `http`: one request, then status, JSON-path and body-substring assertions. */
export interface HttpCheckSpec {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Request body as text (a YAML mapping or list was JSON-encoded, with content-type application/json). */
  readonly body?: string;
  /** Accepted status codes. */
  readonly status: readonly number[];
  readonly expect: readonly JsonPathExpectation[];
  /** Substrings the response body must contain. */
  readonly contains: readonly string[];
  readonly timeoutMs: number;
}

/** `sql`: a query on a SQLite database opened read-only. */
export interface SqlCheckSpec {
  /** The database file (absolute, or relative to the context's cwd). */
  readonly db: string;
  readonly query: string;
  /** Expectation on the first column of the first row (`undefined` when there is no row). */
  readonly expect?: Expectation;
  /** Expectation on the number of rows. */
  readonly rows?: Expectation;
}

/** `command`: a program (argv, no shell) or a shell line; exit status and output patterns. */
export interface CommandCheckSpec {
  readonly argv: readonly string[];
  /** Shown in reports: the command as written. */
  readonly display: string;
  readonly exit: number;
  readonly stdout?: RegExp;
  readonly stderr?: RegExp;
  readonly timeoutMs: number;
}

/** `file`: existence, permission bits, content hash, size range. */
export interface FileCheckSpec {
  readonly path: string;
  /** Must it exist (default true)? When false, the other assertions are not made. */
  readonly exists: boolean;
  /** Permission bits (0o7777) the file must have exactly. */
  readonly modeExact?: number;
  /** Permission bits that must all be set (from `+x`, `u+x` ...). */
  readonly modeHas?: number;
  /** How the mode was written (for reports). */
  readonly modeText?: string;
  /** SHA-256 of the content, lowercase hex. */
  readonly sha256?: string;
  /** Size range in bytes, both ends included. */
  readonly minSize?: number;
  readonly maxSize?: number;
}
