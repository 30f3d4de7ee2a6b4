/**
 * The frame of every action's entry point: secrets are masked first, then
 * the body runs; an error fails the step once, with its message (which
 * names the input, file or endpoint at fault) and its stable code as the
 * `error-code` output. Only this module and the entry points touch
 * `process` (the exit status, through `core.setFailed`).
 */
import * as core from "@actions/core";
import { RestorableError } from "../core/errors.js";
import type { Env } from "../ops/open.js";
import { InputReader, runnerInputs, type InputGetter } from "./inputs.js";
import { maskSecrets } from "./secrets.js";

/** What an action body is given. */
export interface ActionContext {
  readonly inputs: InputReader;
  readonly env: Env;
  /** The working directory (the workspace on a runner). */
  readonly cwd: string;
}

/**
 * A check the action was asked to make did not pass (freshness, a drill): an expected failure of the
 * step, reported with its message alone. `code` becomes the `error-code` output (`STALE`, `DRILL_FAILED`...).
 */
export class CheckFailedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "CheckFailedError";
  }
}

/** The failure message of `err`: the message of a RestorableError, else marked unexpected. */
export function failureMessage(action: string, err: unknown): { message: string; code: string } {
  if (err instanceof RestorableError || err instanceof CheckFailedError) return { message: `restorable ${action}: ${err.message}`, code: err.code };
  const text = err instanceof Error ? err.message : String(err);
  return { message: `restorable ${action}: unexpected error: ${text} (re-run with debug logging, ACTIONS_STEP_DEBUG=true, for the stack trace)`, code: "UNEXPECTED" };
}

/**
 * Runs an action: masks secrets (before anything can be printed), then `body`.
 * Never rejects: a thrown error becomes `core.setFailed` (exit status 1) and the `error-code` output.
 * @param get the inputs (default: the runner's INPUT_* variables).
 */
export async function runAction(action: string, body: (ctx: ActionContext) => Promise<void>, get: InputGetter = runnerInputs): Promise<void> {
  try {
    maskSecrets(get, process.env);
    await body({ inputs: new InputReader(get), env: process.env, cwd: process.cwd() });
  } catch (err) {
    const { message, code } = failureMessage(action, err);
    core.setOutput("error-code", code);
    if (err instanceof Error && err.stack) core.debug(err.stack);
    core.setFailed(message);
  }
}
