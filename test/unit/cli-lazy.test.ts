/**
 * The CLI loads only the module of the command it runs (src/cli/run.ts): the command word is found past the
 * global options, and without a known command word (help, a typo) every command is registered as before.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { commandWord, run } from "../../src/cli/run.js";

/** Runs `argv` in-process with captured output. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on("data", (b: Buffer) => chunks.out.push(b));
  stderr.on("data", (b: Buffer) => chunks.err.push(b));
  const code = await run(argv, { env: {}, cwd: process.cwd(), stdout, stderr });
  return { code, out: Buffer.concat(chunks.out).toString("utf8"), err: Buffer.concat(chunks.err).toString("utf8") };
}

describe("commandWord", () => {
  it("finds the command past global options and their values", () => {
    expect(commandWord(["prune", "--keep-daily", "7"])).toBe("prune");
    expect(commandWord(["--repo", "/srv/b", "--json", "snapshots"])).toBe("snapshots");
    expect(commandWord(["--config", "x.yml", "-q", "drill"])).toBe("drill");
    expect(commandWord(["--repo=/srv/b", "pin", "abc"])).toBe("pin");
    expect(commandWord(["--json"])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
  });
});

describe("lazy command registration", () => {
  it("runs a command's help with only that command loaded", async () => {
    const r = await cli(["prune", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--keep-daily <n>");
    expect(r.out).toContain("--grace <duration>");
  });

  it("lists every command in the top-level help", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["init", "snapshot", "snapshots", "ls", "diff", "verify", "restore", "drill", "key", "repair", "unlock", "prune", "forget", "pin", "unpin"]) {
      expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, "m"));
    }
  });

  it("still suggests the right command for a typo", async () => {
    const r = await cli(["prun"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Did you mean prune\?/);
  });
});
