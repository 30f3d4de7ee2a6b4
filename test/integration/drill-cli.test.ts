/**
 * `restorable drill` through the built CLI (real processes): the canary
 * written by `snapshot`, a passing drill with --json and --markdown and the
 * DRILL column of `snapshots`, a failing drill (exit 12), config and
 * selector errors (exit 2 and 3), and SIGTERM sent to a running drill: it
 * exits 130 after removing the sandbox, and no process of the application
 * (nor its child) is left, as `ps` sees the process group.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureBuilt } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { DRILL_APP, alive, groupMembers, makeAccountsDb } from "../helpers/drill.js";
import { writeFile } from "node:fs/promises";

let dir: { path: string; cleanup: () => Promise<void> };
const NODE = process.execPath;

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RESTORABLE_")) e[k] = v;
  return { ...e, RESTORABLE_PASSWORD: "pw", RESTORABLE_SCRYPT_N: "1024", TMPDIR: join(dir.path, "tmp") };
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: dir.path, env: env(), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const config = (checks: string, app = `    command: ["${NODE}", "${DRILL_APP}"]
    env: { APP_CHILD: "1", APP_PID_FILE: "\${config}/pids.txt" }
    ready: { http: { url: "http://127.0.0.1:\${port}/health" } }`): string => `
repository: ./repo
sources:
  - { name: app, path: ./app }
drill:
  env: { APP_DB: "\${sources.app}/app.sqlite", APP_PORT: "\${port}" }
  canary: { db: ./app/app.sqlite }
  app:
${app}
  checks:
${checks}
  max-rpo: 1h
`;

const GOOD = `    - { name: alice, type: http, url: "http://127.0.0.1:\${port}/accounts/alice.test", expect: ['$.handle == "alice.test"'] }
    - { name: count, type: sql, db: "\${sources.app}/app.sqlite", query: "SELECT count(*) FROM account", expect: 5 }`;

beforeAll(async () => {
  ensureBuilt();
  dir = await tempDir("restorable-drill-cli-");
  await mkdir(join(dir.path, "app"));
  await mkdir(join(dir.path, "tmp"));
  makeAccountsDb(join(dir.path, "app/app.sqlite"));
  await writeFile(join(dir.path, "restorable.yml"), config(GOOD));
  expect((await cli(["init"])).code).toBe(0);
  const snap = await cli(["snapshot"]);
  expect(snap.code, snap.stderr).toBe(0);
  expect(snap.stdout).toMatch(/ {2}canary {5}\d{4}-\d\d-\d\dT\S+Z written to \.\/app\/app\.sqlite/);
});
afterAll(() => dir.cleanup());

describe("restorable drill", () => {
  it("passes with --json and --markdown, and `snapshots` shows it", async () => {
    const r = await cli(["drill", "--json", "--markdown", "report.md"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, status: "passed", recorded: { ok: true }, rpo: { canaryTime: expect.any(String) } });
    expect(doc.checks.map((c: { status: string }) => c.status)).toEqual(["passed", "passed"]);
    expect(doc.rpo.canaryMs).toBeGreaterThanOrEqual(doc.rpo.snapshotMs);
    const md = readFileSync(join(dir.path, "report.md"), "utf8");
    expect(md).toContain("# Restore drill ✅ PASSED");
    expect(md).toMatch(/\| alice \| http \| ✅ passed \|/);
    const s = await cli(["snapshots", "--json"]);
    expect(JSON.parse(s.stdout).snapshots[0].drill).toMatchObject({ ok: true, summary: expect.stringMatching(/^passed: 2\/2 checks/) });
  });

  it("exits 12 when a check fails, with the observed value on stdout and the reason on stderr", async () => {
    await writeFile(join(dir.path, "bad.yml"), config(`    - { name: count, type: sql, db: "\${sources.app}/app.sqlite", query: "SELECT count(*) FROM account", expect: ">= 50" }`));
    const r = await cli(["--config", "bad.yml", "drill"]);
    expect(r.code).toBe(12);
    expect(r.stdout).toContain("check     count (sql): FAILED  expected SELECT count(*) FROM account; value >= 50; observed value >= 50: got 5");
    expect(r.stderr).toContain("restorable: drill failed: check count failed: value >= 50: got 5");
  });

  it("exits 2 on an unknown check type, naming its place, and 3 on a selector that matches nothing", async () => {
    await writeFile(join(dir.path, "typo.yml"), config(`    - { name: x, type: ping, url: "http://x" }`));
    const t = await cli(["--config", "typo.yml", "drill"]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("restorable: typo.yml: drill.checks[0].type: expected one of \"http\", \"sql\"");
    const n = await cli(["drill", "--snapshot", "latest-before:2001-01-01"]);
    expect(n.code).toBe(3);
    expect(n.stderr).toMatch(/no snapshot matches latest-before:2001-01-01T00:00:00\.000Z \(nearest by time: \d{8}T\d{6}Z-/);
  });

  it("on SIGTERM: removes the sandbox, stops the app and its child, exits 130", async () => {
    // A slow last check keeps the drill running while the signal arrives.
    await writeFile(join(dir.path, "slow.yml"), config(`${GOOD}\n    - { name: slow, type: command, shell: "sleep 60", timeout: 2min }`));
    const child = spawn(NODE, [CLI, "--config", "slow.yml", "drill"], { cwd: dir.path, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const ready = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the drill did not report a ready app within 30 s:\n${stderr}`)), 30_000);
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
        if (/check slow \(command\)/.test(stderr)) {
          clearTimeout(t);
          resolve(stderr);
        }
      });
    });
    const sandbox = /restoring snapshot \S+ into (\S+)/.exec(ready)![1]!;
    const pgid = Number(/process group (\d+)/.exec(ready)![1]);
    const pids = readFileSync(join(dir.path, "pids.txt"), "utf8").trim().split("\n").map(Number).slice(-2);
    expect(pids[0]).toBe(pgid);
    expect(groupMembers(pgid).sort()).toEqual([...pids].sort());
    expect(existsSync(sandbox)).toBe(true);
    child.kill("SIGTERM");
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toContain("SIGTERM received: stopping the drill and tearing the sandbox down");
    expect(stderr).toContain("restorable: drill interrupted by SIGTERM; the sandbox was removed");
    expect(stdout).toContain("INTERRUPTED");
    expect(existsSync(sandbox)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});
