/**
 * The zod-free policy validation (src/core/retention-parse.ts, used by `prune` flags and the GitHub action) and
 * the zod schema embedded in the configuration schema (src/core/retention-policy.ts) must accept and refuse the
 * same inputs, with the same messages and the same output.
 */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { parsePolicy } from "../../src/core/retention-parse.js";
import { RetentionSchema } from "../../src/core/retention-policy.js";

const INPUTS: readonly Record<string, unknown>[] = [
  {},
  { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
  { "keep-last": 0 },
  { "keep-last": -1 },
  { "keep-hourly": 1.5 },
  { "keep-yearly": "3" },
  { "keep-daily": Number.POSITIVE_INFINITY },
  { "keep-daily": Number.NaN },
  { "keep-daily": null },
  { "keep-within": "1y2m3d4h" },
  { "keep-within-daily": "0d" },
  { "keep-within": "7" },
  { "keep-within-weekly": 7 },
  { "keep-within": "1d1d" },
  { "keep-tag": "release" },
  { "keep-tag": ["a", "b"] },
  { "keep-tag": [""] },
  { "keep-tag": [1] },
  { "keep-tag": { a: 1 } },
  { "group-by": "tags" },
  { "group-by": "host" },
  { "time-zone": "Europe/Berlin" },
  { "time-zone": "Mars/Olympus_Mons" },
  { "time-zone": "+01:00" },
  { "keep-dayly": 7 },
  { "keep-dayly": 7, "keep-last": -2 },
];

describe("parsePolicy (no zod) and RetentionSchema (zod) agree", () => {
  it.each(INPUTS.map((input) => [JSON.stringify(input), input] as const))("%s", (_name, input) => {
    const zod = RetentionSchema.safeParse(input);
    let ours: unknown;
    let error: ConfigError | undefined;
    try {
      ours = parsePolicy(input);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      error = err as ConfigError;
    }
    expect(error === undefined).toBe(zod.success);
    if (zod.success) {
      expect(ours).toEqual(zod.data);
      return;
    }
    // Same problems, by field; each of our texts starts with zod's message for that field.
    const fields = zod.error.issues.flatMap((issue) =>
      issue.code === "unrecognized_keys" ? issue.keys.map((k) => `retention.${[...issue.path, k].join(".")}`) : [`retention.${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[")}`],
    );
    const problems = (error!.details.problems as { field: string; text: string }[]);
    expect(problems.map((p) => p.field).sort()).toEqual(fields.sort());
    for (const issue of zod.error.issues) {
      if (issue.code === "unrecognized_keys") continue;
      const f = `retention.${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[")}`;
      expect(problems.find((p) => p.field === f)?.text.startsWith(`${issue.message}, got `)).toBe(true);
    }
  });
});
