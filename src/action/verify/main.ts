/** Entry point of actions/verify: inputs -> verify() (+ freshness) -> outputs and summary. */
import { IntegrityError } from "../../core/errors.js";
import { verify } from "../../ops/verify/verify.js";
import { loadActionConfig, withActionRepository } from "../common.js";
import { historySection } from "../history.js";
import { setOutputs } from "../outputs.js";
import { runAction } from "../run.js";
import { writeSummary } from "../summary.js";
import { assertFresh, freshness } from "./freshness.js";
import { effectiveMaxAge, readVerifyInputs } from "./inputs.js";
import { selectForVerify } from "./select.js";
import { verifyMarkdown, verifyOutputs } from "./summary.js";

await runAction("verify", async ({ inputs, env, cwd }) => {
  const input = readVerifyInputs(inputs, cwd);
  const loaded = await loadActionConfig(input.common);
  await withActionRepository(input.common, loaded, env, async ({ repo }) => {
    const { manifests, newest } = await selectForVerify(repo, input.snapshot, input.tags);
    const report = await verify(repo, manifests, {
      readData: input.readData, semantic: input.semantic, annotate: input.annotate, jsonFiles: loaded?.config.verify?.json ?? [],
      ...(input.readDataSubset !== undefined ? { readDataSubsetPercent: input.readDataSubset } : {}),
    });
    const fresh = freshness(newest, effectiveMaxAge(input, loaded), Date.now());
    setOutputs(verifyOutputs(report, fresh));
    await writeSummary(verifyMarkdown(report, fresh, input.semantic, { redact: input.common.redact, maxValue: input.common.summaryMaxValue }) + (await historySection(repo)));
    if (!report.ok) throw new IntegrityError(`verify found damage in ${report.snapshots.filter((s) => !s.ok).map((s) => s.id).join(", ") || "the repository"} (see the job summary)`, {});
    assertFresh(fresh);
  });
});
