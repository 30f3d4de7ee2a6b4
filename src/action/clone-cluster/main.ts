/** Entry point of actions/clone-cluster: inputs -> cloneSnapshot() -> outputs and summary. */
import { cloneSnapshot } from "../../ops/clone/clone.js";
import { assertIsolated } from "../../ops/clone/target.js";
import { selectSnapshot } from "../../ops/select.js";
import { loadActionConfig, withActionRepository } from "../common.js";
import { setOutputs } from "../outputs.js";
import { CheckFailedError, runAction } from "../run.js";
import { writeSummary } from "../summary.js";
import { readCloneInputs } from "./inputs.js";
import { cloneMarkdown, cloneOutputs } from "./summary.js";

await runAction("clone-cluster", async ({ inputs, env, cwd }) => {
  const input = readCloneInputs(inputs, cwd, env);
  const loaded = await loadActionConfig(input.common);
  await withActionRepository(input.common, loaded, env, async ({ repo, location }) => {
    assertIsolated(input.target, location, input.common.workingDirectory);
    const manifest = await selectSnapshot(repo, input.selector, input.tags);
    const result = await cloneSnapshot(repo, manifest, {
      target: input.target, env, dryRun: input.dryRun, include: input.include,
      ...(loaded ? { loaded } : {}), ...(input.checks !== undefined ? { checks: input.checks } : {}),
      ...(input.targetEndpoint ? { targetEndpoint: input.targetEndpoint } : {}), ...(input.targetTimeMs !== undefined ? { targetTimeMs: input.targetTimeMs } : {}),
    });
    setOutputs(cloneOutputs(result));
    await writeSummary(cloneMarkdown(result, { redact: input.common.redact, maxValue: input.common.summaryMaxValue }));
    if (result.checksOk === false) throw new CheckFailedError("CHECKS_FAILED", `health checks failed on the clone of ${result.snapshot.id} at ${result.target}: ${result.checks.filter((c) => c.status === "failed").map((c) => c.name).join(", ")}`);
  });
});
