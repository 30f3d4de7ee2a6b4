/** Entry point of actions/snapshot: inputs -> snapshot() -> outputs and summary. */
import { IntegrityError } from "../../core/errors.js";
import { snapshot } from "../../ops/snapshot/snapshot.js";
import { loadActionConfig, withActionRepository } from "../common.js";
import { historySection } from "../history.js";
import { setOutputs } from "../outputs.js";
import { runAction } from "../run.js";
import { writeSummary } from "../summary.js";
import { readSnapshotInputs, snapshotOptions } from "./inputs.js";
import { SourceCounters, snapshotMarkdown, snapshotOutputs } from "./summary.js";

await runAction("snapshot", async ({ inputs, env, cwd }) => {
  const input = readSnapshotInputs(inputs, cwd);
  const loaded = await loadActionConfig(input.common);
  const options = await snapshotOptions(input, loaded);
  await withActionRepository(input.common, loaded, env, async ({ repo, location }) => {
    const counters = new SourceCounters();
    const result = await snapshot(repo, { ...options, onProgress: counters.onProgress });
    setOutputs(snapshotOutputs(result));
    await writeSummary(snapshotMarkdown(result, counters, location) + (await historySection(repo)));
    if (!result.checked) throw new IntegrityError(`snapshot ${result.manifest.id} was committed but its structure check failed; run the verify action`, { snapshot: result.manifest.id });
  }, { initIfMissing: input.init });
});
