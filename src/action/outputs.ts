/**
 * Step outputs (`core.setOutput`, which appends `name=value` blocks to the
 * GITHUB_OUTPUT file). Values are strings on the runner: numbers are written
 * in decimal, booleans as `true`/`false`, and an undefined value is skipped
 * (the output is then the empty string, as for any output never set).
 */
import * as core from "@actions/core";

/** Output name to value. */
export type Outputs = Readonly<Record<string, string | number | boolean | undefined>>;

/** The outputs as the strings the runner stores. */
export function outputStrings(outputs: Outputs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(outputs)) if (v !== undefined) out[k] = typeof v === "number" ? String(Math.round(v * 1000) / 1000) : String(v);
  return out;
}

/** Sets every output. */
export function setOutputs(outputs: Outputs): void {
  for (const [k, v] of Object.entries(outputStrings(outputs))) core.setOutput(k, v);
}
