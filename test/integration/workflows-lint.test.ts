/**
 * The workflows (the project's own in .github/workflows/, the starters in
 * workflows/): actionlint finds nothing; third-party actions are pinned by
 * commit SHA; permissions are least-privilege; schedules avoid the top of the
 * hour; the jobs that hold secrets for a restore or a pull-request drill run
 * in an environment. ci.yml itself cannot run here (service containers need
 * Docker): this lint is what checks it.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const FILES = [
  ...readdirSync(join(ROOT, ".github", "workflows")).filter((f) => f.endsWith(".yml")).map((f) => join(".github", "workflows", f)),
  ...readdirSync(join(ROOT, "workflows")).filter((f) => f.endsWith(".yml")).map((f) => join("workflows", f)),
];

function findActionlint(): string {
  const candidates = [...(process.env.ACTIONLINT_BIN ? [process.env.ACTIONLINT_BIN] : []), ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "actionlint")), join(homedir(), "go", "bin", "actionlint")];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error("actionlint not found (ACTIONLINT_BIN, PATH, ~/go/bin): install it with go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 (scripts/lib/ensure.sh ensure_actionlint)");
}

/** The workflows of the GitHub Actions work (issue 4); other workflows in .github/workflows/ are linted but keep their own rules. */
const OURS = FILES.filter((f) => /(^workflows\/|\/(backup|restore|drill|ci)\.yml$)/.test(f));

type Workflow = { on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, { permissions?: unknown; environment?: unknown; uses?: string; steps?: { uses?: string }[] }> };
const load = (f: string): Workflow => parse(readFileSync(join(ROOT, f), "utf8")) as Workflow;

describe("workflows", () => {
  it("actionlint reports nothing", async () => {
    const { stdout, stderr } = await promisify(execFile)(findActionlint(), ["-no-color", ...FILES], { cwd: ROOT }).catch((e: { stdout: string; stderr: string }) => e);
    expect(stdout + stderr).toBe("");
  });

  it("pin every third-party action by commit SHA (with the version in a comment)", () => {
    expect(OURS.length).toBe(7);
    for (const f of OURS) {
      for (const line of readFileSync(join(ROOT, f), "utf8").split("\n")) {
        const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!m) continue;
        const ref = m[1]!;
        if (ref.startsWith("./") || ref.startsWith("restorable/restorable/")) continue;
        expect(ref, `${f}: ${line.trim()}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        expect(m[2], `${f}: ${line.trim()}`).toMatch(/# v\d/);
      }
    }
  });

  it("grant only contents: read at the top, and schedule off the hour", () => {
    for (const f of OURS) {
      const w = load(f);
      expect(w.permissions, f).toEqual({ contents: "read" });
      for (const [name, job] of Object.entries(w.jobs)) if (job.permissions !== undefined) expect(job.permissions, `${f}: ${name}`).toEqual({ contents: "read" });
      const schedule = (w.on.schedule ?? []) as { cron: string }[];
      for (const s of schedule) expect(s.cron.split(" ")[0], `${f}: ${s.cron}`).not.toMatch(/^0?0$/);
    }
  });

  it("run restores and pull-request drills in an environment (required reviewers gate the secrets)", () => {
    expect(load(".github/workflows/restore.yml").jobs.restore!.environment).toBeTruthy();
    expect(load(".github/workflows/drill.yml").jobs.drill!.environment).toBe("${{ inputs.environment }}");
    expect(JSON.stringify(load("workflows/pr-restore-drill.yml").jobs.drill)).toContain('"environment":"restore-drill"');
    expect(JSON.stringify(load("workflows/manual-restore.yml").jobs.restore)).toContain('"environment":"production-restore"');
  });
});
