import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, HookError, SourceError } from "../../src/core/errors.js";
import { runCommandSource } from "../../src/sources/command.js";
import { runHook, safeEnv } from "../../src/sources/hooks.js";

let temp: string;
beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), "restorable-cmd-"));
});
afterEach(() => {
  rmSync(temp, { recursive: true, force: true });
});

const env = safeEnv(process.env);

/** Waits until process `pid` no longer runs (absent, or a zombie waiting for its reaper). */
async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    let state: string | undefined;
    try {
      state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    } catch {
      return true;
    }
    if (state === "Z") return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe("runCommandSource", () => {
  it("captures stdout into a 0600 temp file and returns a cdc entry named `name`", async () => {
    // argv, no shell: the "$HOME; echo" below is passed literally, not expanded.
    const e = await runCommandSource({
      command: ["/bin/sh", "-c", 'printf "line %s\\n" 1 2 3; printf "%s" "$1"', "sh", "$HOME; echo"],
      name: "dumps/out.txt",
      tempDir: temp,
      env,
    });
    expect(e).toMatchObject({ path: "dumps/out.txt", type: "file", mode: 0o600, chunking: { mode: "cdc" }, reusable: false });
    const content = readFileSync(e.contentPath as string, "utf8");
    expect(content).toBe("line 1\nline 2\nline 3\n$HOME; echo");
    expect(e.size).toBe(Buffer.byteLength(content));
    expect(statSync(e.contentPath as string).mode & 0o777).toBe(0o600);
  });

  it("stores a large binary output intact", async () => {
    const big = join(temp, "big.bin");
    const bytes = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 9)) & 0xff;
    writeFileSync(big, bytes);
    const e = await runCommandSource({ command: ["cat", big], name: "big.bin", tempDir: temp, env });
    expect(readFileSync(e.contentPath as string).equals(bytes)).toBe(true);
  });

  it("fails with SourceError naming the command, the exit status and the stderr tail; removes the output", async () => {
    const noisy = 'i=0; while [ $i -lt 500 ]; do echo "noise $i" >&2; i=$((i+1)); done; echo "the real reason" >&2; echo partial; exit 3';
    const err = await runCommandSource({ command: ["/bin/sh", "-c", noisy], name: "x.out", tempDir: temp, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    const msg = (err as SourceError).message;
    expect(msg).toContain('command source "x.out" failed');
    expect(msg).toContain("/bin/sh -c");
    expect(msg).toContain("exit status 3");
    expect(msg).toContain("the real reason");
    expect(msg).not.toContain("noise 0\n"); // only the last 4 KiB are kept
    expect(((err as SourceError).details.stderr as string).length).toBeLessThanOrEqual(4096);
    expect(readdirSync(temp)).toEqual([]);
  });

  it("fails with SourceError when the program does not exist, and ConfigError for bad input", async () => {
    const err = await runCommandSource({ command: ["/nonexistent/dumper"], name: "x", tempDir: temp, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toContain("/nonexistent/dumper");
    await expect(runCommandSource({ command: [], name: "x", tempDir: temp, env })).rejects.toBeInstanceOf(ConfigError);
    for (const name of ["", "/abs", "a/../b", "./a"]) {
      await expect(runCommandSource({ command: ["true"], name, tempDir: temp, env })).rejects.toBeInstanceOf(ConfigError);
    }
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe("safeEnv", () => {
  const source = {
    PATH: "/usr/bin",
    HOME: "/home/u",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    LC_TIME: "en_GB",
    TZ: "UTC",
    TMPDIR: "/tmp",
    USER: "u",
    RESTORABLE_PASSWORD: "hunter2",
    RESTORABLE_KEY: "00ff",
    RESTORABLE_REPOSITORY: "s3://b/p",
    AWS_ACCESS_KEY_ID: "AKIA",
    AWS_SECRET_ACCESS_KEY: "s",
    AWS_REGION: "eu-west-1",
    GITHUB_TOKEN: "ghp",
    MY_SECRET: "x",
    PGPASSWORD: "pw",
    PGHOST: "db",
    PGPORT: "5432",
    api_key: "k",
    EDITOR: "vi",
    UNSET: undefined,
  };

  it("keeps only the base allow-list by default and drops every secret", () => {
    expect(safeEnv(source)).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/u",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      LC_TIME: "en_GB",
      TZ: "UTC",
      TMPDIR: "/tmp",
      USER: "u",
    });
  });

  it("adds explicitly allowed names; a * pattern never brings secret-like names", () => {
    const out = safeEnv(source, ["PG*", "AWS_REGION", "GITHUB_TOKEN", "EDITOR"]);
    expect(out).toMatchObject({ PGHOST: "db", PGPORT: "5432", AWS_REGION: "eu-west-1", GITHUB_TOKEN: "ghp", EDITOR: "vi" });
    expect(out).not.toHaveProperty("PGPASSWORD");
    expect(out).not.toHaveProperty("AWS_SECRET_ACCESS_KEY");
    expect(out).not.toHaveProperty("MY_SECRET");
    expect(out).not.toHaveProperty("RESTORABLE_PASSWORD");
    expect(safeEnv(source, ["PGPASSWORD"])).toHaveProperty("PGPASSWORD", "pw");
    expect(safeEnv(source, ["RESTORABLE_*"])).toEqual(expect.objectContaining({ RESTORABLE_REPOSITORY: "s3://b/p" }));
    expect(safeEnv(source, ["RESTORABLE_*"])).not.toHaveProperty("RESTORABLE_KEY");
  });

  it("refuses to pass the repository's own secrets even when asked", () => {
    expect(() => safeEnv(source, ["RESTORABLE_PASSWORD"])).toThrow(ConfigError);
    expect(() => safeEnv(source, ["RESTORABLE_KEY"])).toThrow(ConfigError);
  });
});

describe("runHook", () => {
  it("runs the command with /bin/sh -c, in cwd, with only the given environment", async () => {
    const r = await runHook({
      name: "pre",
      command: 'echo "cwd=$(pwd) pw=${RESTORABLE_PASSWORD:-none} x=$X"; echo err >&2',
      env: { ...safeEnv({ ...process.env, RESTORABLE_PASSWORD: "hunter2" }), X: "1" },
      cwd: temp,
    });
    expect(r.output).toContain(`cwd=${temp} pw=none x=1`);
    expect(r.output).toContain("err");
  });

  it("throws HookError with the exit status and the output tail", async () => {
    const err = await runHook({ name: "post", command: "echo releasing lock; echo 'lock file missing' >&2; exit 7", env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    const h = err as HookError;
    expect(h.code).toBe("HOOK");
    expect(h.message).toContain("post hook failed");
    expect(h.message).toContain("exit status 7");
    expect(h.message).toContain("lock file missing");
    expect(h.details).toMatchObject({ hook: "post", exitCode: 7, timedOut: false });
  });

  it("kills a hook that runs past its timeout, with its children", async () => {
    const t0 = Date.now();
    const pidFile = join(temp, "bg.pid");
    const command = `sleep 30 & echo $! > ${pidFile}; sleep 30; echo never`;
    const err = await runHook({ name: "pre", command, env, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    expect((err as HookError).message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
    // The background child was in the hook's process group: it got the signal too.
    const bg = Number(readFileSync(pidFile, "utf8"));
    expect(await gone(bg, 3000)).toBe(true);
  });
});
