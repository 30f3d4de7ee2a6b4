/**
 * The full drill report (JSON, src/ops/drill/report.ts) written to
 * `$RUNNER_TEMP/restorable-drill-<snapshot>-<time>.json`, so a workflow can
 * upload it as an artifact. It holds observed values unredacted: artifacts
 * are readable by whoever can read the repository, so the starter workflows
 * do not upload it by default.
 */
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DrillReport } from "../../ops/drill.js";
import type { Env } from "../../ops/open.js";

/** @returns the path written, or undefined when writing failed (the report is not required for the result). */
export async function writeReportFile(report: DrillReport, env: Env): Promise<string | undefined> {
  const file = join(env.RUNNER_TEMP || tmpdir(), `restorable-drill-${report.snapshot.id}-${report.startedAt.replace(/[-:.]/g, "")}.json`);
  try {
    await writeFile(file, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
    return file;
  } catch {
    return undefined;
  }
}
