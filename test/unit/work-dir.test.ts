import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeWorkDir, sweepWorkDirs } from "../../src/ops/work-dir.js";

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), "restorable-workdir-test-"));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

/** The id of a process that has exited (its id is free until reused). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("work folders", () => {
  it("are named after this process and host", async () => {
    const dir = await makeWorkDir("snap", parent);
    expect(basename(dir)).toMatch(new RegExp(`^restorable-snap-${process.pid}@${hostname().replace(/[^A-Za-z0-9._-]/g, "_")}-[A-Za-z0-9]{6}$`));
    expect(existsSync(dir)).toBe(true);
  });

  it("left by a process that is gone are removed, with what they hold; others are kept", async () => {
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, "_");
    const dead = deadPid();
    const mk = (name: string): string => {
      const p = join(parent, name);
      mkdirSync(p);
      writeFileSync(join(p, "sqlite-copy.db"), "a database copy");
      return p;
    };
    const stale = mk(`restorable-snap-${dead}@${host}-AbC123`);
    const staleVerify = mk(`restorable-verify-${dead}@${host}-xyz789`);
    const mine = await makeWorkDir("snap", parent);
    const liveOther = mk(`restorable-snap-1@${host}-Live01`); // process 1 always runs
    const otherHost = mk(`restorable-snap-${dead}@another-host-Other1`);
    const unrelated = mk(`restorable-snapshots-${dead}`);
    const file = join(parent, `restorable-snap-${dead}@${host}-File01`);
    writeFileSync(file, "not a folder");

    const removed = await sweepWorkDirs(parent);
    expect(removed.sort()).toEqual([stale, staleVerify].sort());
    expect(readdirSync(parent).sort()).toEqual([basename(mine), basename(liveOther), basename(otherHost), basename(unrelated), basename(file)].sort());
    expect(readdirSync(mine)).toEqual([]);
  });

  it("finds nothing to do in a folder that does not exist", async () => {
    expect(await sweepWorkDirs(join(parent, "missing"))).toEqual([]);
  });
});
