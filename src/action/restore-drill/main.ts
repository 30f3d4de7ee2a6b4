/** Entry point of actions/restore-drill: inputs -> runDrill() -> outputs, report file and summary. */
import { DrillFailedError } from "../../core/errors.js";
import { runDrill } from "../../ops/drill.js";
import { loadActionConfig, withActionRepository } from "../common.js";
import { historySection } from "../history.js";
import { setOutputs } from "../outputs.js";
import { runAction } from "../run.js";
import { writeSummary } from "../summary.js";
import { drillConfig, readDrillInputs } from "./inputs.js";
import { writeReportFile } from "./report-file.js";
import { drillMarkdown, drillOutputs } from "./summary.js";

await runAction("restore-drill", async ({ inputs, env, cwd }) => {
  const input = readDrillInputs(inputs, cwd);
  const loaded = drillConfig(input, await loadActionConfig(input.common));
  await withActionRepository(input.common, loaded, env, async ({ repo }) => {
    const report = await runDrill(repo, loaded, { env, keep: input.keepSandbox, record: input.record, ...(input.snapshot !== undefined ? { snapshot: input.snapshot } : {}) });
    setOutputs(drillOutputs(report, await writeReportFile(report, env)));
    await writeSummary(drillMarkdown(report, { redact: input.common.redact, maxValue: input.common.summaryMaxValue }) + (await historySection(repo)));
    if (!report.ok) throw new DrillFailedError(`the restore drill of ${report.snapshot.id} ${report.status}: ${report.failures.slice(0, 3).join("; ") || "a check did not pass"}`, { failures: report.failures });
  });
});
