/** Entry point of actions/prune: inputs -> prune() (plan, then execute unless dry-run) -> outputs and summary. */
import { prune } from "../../ops/prune/prune.js";
import { loadActionConfig, withActionRepository } from "../common.js";
import { historySection } from "../history.js";
import { setOutputs } from "../outputs.js";
import { runAction } from "../run.js";
import { writeSummary } from "../summary.js";
import { pruneOptions, readPruneInputs } from "./inputs.js";
import { pruneMarkdown, pruneOutputs } from "./summary.js";

await runAction("prune", async ({ inputs, env, cwd }) => {
  const input = readPruneInputs(inputs, cwd);
  const loaded = await loadActionConfig(input.common);
  await withActionRepository(input.common, loaded, env, async ({ repo }) => {
    const result = await prune(repo, pruneOptions(input, loaded));
    setOutputs(pruneOutputs(result));
    await writeSummary(pruneMarkdown(result) + (await historySection(repo)));
  });
});
