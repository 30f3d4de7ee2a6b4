/** Error to exit status and message (docs/cli.md, "Exit codes"): EXIT_CODES for RestorableError, 1 for the unexpected. */
import { EXIT_CODES, RestorableError } from "../core/errors.js";

/** Exit status of an unexpected failure (a bug, or an error the code did not anticipate). */
export const UNEXPECTED_EXIT = 1;

/** The `{"error": ...}` document printed on stdout with --json. */
export interface ErrorDocument {
  readonly error: { readonly code: string; readonly message: string; readonly details: Readonly<Record<string, unknown>> };
}

/** What the CLI reports for `err`. */
export function describeError(err: unknown): { exitCode: number; message: string; doc: ErrorDocument; expected: boolean } {
  if (err instanceof RestorableError) {
    return { exitCode: EXIT_CODES[err.code], message: err.message, doc: { error: { code: err.code, message: err.message, details: err.details } }, expected: true };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    exitCode: UNEXPECTED_EXIT,
    message: `unexpected error: ${message} (set RESTORABLE_DEBUG=1 for the stack trace)`,
    doc: { error: { code: "UNEXPECTED", message, details: {} } },
    expected: false,
  };
}
