/**
 * Restore drills in the local sandbox, end to end at the library level,
 * with a real application process (test/fixtures/drill-app: HTTP over
 * SQLite), real SQLite and real shell steps: a drill that passes (phases,
 * RTO, RPO with a canary, the annotation, nothing left behind); a failing
 * check with its observed value; an application that never becomes ready
 * (timeout and log tail); a failing step (later steps skipped, teardown
 * runs); budgets; read-only credentials; an interrupt; --keep; an
 * application that ignores SIGTERM; selectors and variables that match
 * nothing.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeCanary } from "../../src/checks/canary.js";
import { NotFoundError, StoreError } from "../../src/core/errors.js";
import { executeDrill, planDrill, runDrill } from "../../src/ops/drill.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import { listAnnotations } from "../../src/repo/annotations.js";
import type { Repository } from "../../src/repo/repository.js";
import { tempDir } from "../helpers/fixtures.js";
import { DRILL_APP, alive, groupMembers, loadConfig, makeAccountsDb, newRepo } from "../helpers/drill.js";

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
let snapId = "";
let sandboxes = "";
const NODE = process.execPath;
/** restorable's own environment in these drills: secrets that must never reach the sandbox. */
const ENV = { ...process.env, RESTORABLE_PASSWORD: "hunter2", RESTORABLE_KEY: "k", AWS_SECRET_ACCESS_KEY: "s3cr3t", AWS_ACCESS_KEY_ID: "AKIA", MY_API_TOKEN: "tok" };

/** The drill section; `over` replaces whole keys (YAML text per key). */
function yml(over: { steps?: string; app?: string; checks?: string; extra?: string } = {}): string {
  return `
sources:
  - { name: app, path: ./app }
drill:
  env: { APP_DB: "\${sources.app}/app.sqlite", APP_PORT: "\${port}" }
  pass-env: [MY_API_TOKEN]
  canary: { db: ./app/app.sqlite }
  steps:
${over.steps ?? `    - { name: 10-bump, type: sql, db: "\${sources.app}/app.sqlite", statements: ["UPDATE account SET balance = balance + 1 WHERE handle = 'alice.test'"] }
    - { name: 20-marker, type: shell, run: "echo restored > \${sandbox}/marker.txt" }
    - { name: 30-chmod, type: chmod, path: "\${sandbox}/marker.txt", mode: "0640" }`}
  app:
${over.app ?? `    command: ["${NODE}", "${DRILL_APP}"]
    ready: { http: { url: "http://127.0.0.1:\${port}/health", status: 200 } }
    start-timeout: 15s`}
  checks:
${over.checks ?? `    - name: alice
      type: http
      url: http://127.0.0.1:\${port}/accounts/alice.test
      expect: ['$.handle == "alice.test"', "$.balance == 101"]
    - { name: count, type: sql, db: "\${sources.app}/app.sqlite", query: "SELECT count(*) FROM account", expect: 5 }
    - { name: marker, type: file, path: marker.txt, mode: "0640", size: { min: 9, max: 9 } }
    - name: no-secrets
      type: command
      shell: "env | grep -E '^(RESTORABLE_|AWS_)' && exit 1; test \\"$MY_API_TOKEN\\" = tok && echo clean"
      stdout: "^clean$"`}
${over.extra ?? ""}`;
}

beforeAll(async () => {
  dir = await tempDir("restorable-drill-it-");
  sandboxes = join(dir.path, "sandboxes");
  await mkdir(sandboxes);
  await mkdir(join(dir.path, "app"));
  makeAccountsDb(join(dir.path, "app/app.sqlite"));
  repo = await newRepo(dir.path);
  writeCanary(join(dir.path, "app/app.sqlite"));
  snapId = (await snapshot(repo, { sources: [{ kind: "directory", name: "app", path: join(dir.path, "app") }] })).manifest.id;
});
afterAll(() => dir.cleanup());

/** Runs the drill of `text` (sandboxes under the test folder). */
async function drill(text: string, opts: Partial<Parameters<typeof runDrill>[2]> = {}, on: Repository = repo) {
  const loaded = await loadConfig(dir.path, text);
  return runDrill(on, loaded, { env: ENV, tmpDir: sandboxes, ...opts });
}

describe("a drill in the local sandbox", () => {
  it("passes: restores, runs the steps in order, starts the app, checks, measures and records", async () => {
    const r = await drill(yml());
    expect(r.failures).toEqual([]);
    expect(r.status).toBe("passed");
    expect(r.snapshot.id).toBe(snapId);
    expect(r.sources).toEqual([expect.objectContaining({ name: "app", kind: "directory", entries: 2, bytes: expect.any(Number) })]);
    expect(r.sources[0]!.bytes).toBeGreaterThan(4096);
    expect(r.steps.map((s) => [s.name, s.status])).toEqual([["10-bump", "passed"], ["20-marker", "passed"], ["30-chmod", "passed"]]);
    expect(r.steps[0]!.observed).toBe("1 statement(s), 1 row(s) changed");
    expect(r.app).toMatchObject({ ready: true, probe: expect.stringContaining("/health -> 200") });
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([["alice", "passed"], ["count", "passed"], ["marker", "passed"], ["no-secrets", "passed"]]);
    expect(r.checks[0]!.assertions.map((a) => a.observed)).toEqual(["200", '"alice.test"', "101"]);
    for (const k of ["restoreMs", "stepsMs", "startToReadyMs", "checksMs", "teardownMs"] as const) expect(r.phases[k], k).toBeGreaterThanOrEqual(0);
    const p = r.phases;
    expect(r.rtoMs).toBeGreaterThanOrEqual(p.restoreMs! + p.stepsMs! + p.startToReadyMs! + p.checksMs! - 5);
    expect(r.rpo.snapshotMs).toBeGreaterThan(0);
    expect(r.rpo.canaryMs).toBeGreaterThanOrEqual(r.rpo.snapshotMs);
    expect(r.budgets).toEqual({ maxRtoMs: null, maxRpoMs: null, rtoOk: null, rpoOk: null });
    expect(r.recorded.ok).toBe(true);
    const ann = (await listAnnotations(repo)).bySnapshot.get(snapId)?.filter((a) => a.type === "drill").at(-1);
    expect(ann).toMatchObject({ type: "drill", ok: true, summary: expect.stringMatching(/^passed: 4\/4 checks, RTO/) });
    expect(existsSync(r.sandbox.path)).toBe(false);
    expect(alive(r.app!.pid!)).toBe(false);
    expect(groupMembers(r.app!.pid!)).toEqual([]);
  });

  it("fails on a check that does not hold, and the report shows the observed value and the log tail", async () => {
    const r = await drill(yml({ checks: `    - name: alice
      type: http
      url: http://127.0.0.1:\${port}/accounts/alice.test
      expect: ["$.balance == 999"]
    - { name: count, type: sql, db: "\${sources.app}/app.sqlite", query: "SELECT count(*) FROM account", expect: 5 }` }));
    expect(r.ok).toBe(false);
    expect(r.status).toBe("failed");
    expect(r.checks.map((c) => c.status)).toEqual(["failed", "passed"]);
    expect(r.checks[0]!.observed).toBe("$.balance == 999: got 101");
    expect(r.failures).toEqual(["check alice failed: $.balance == 999: got 101"]);
    expect(r.rtoMs).toBeNull();
    expect(r.logTail).toContain("listening on");
    expect(r.recorded.ok).toBe(true);
    const ann = (await listAnnotations(repo)).bySnapshot.get(snapId)?.filter((a) => a.type === "drill").at(-1);
    expect(ann?.ok).toBe(false);
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("fails when the application never becomes ready: timeout, log tail, checks skipped, app stopped", async () => {
    const r = await drill(yml({ app: `    command: ["${NODE}", "${DRILL_APP}"]
    env: { APP_MODE: hang }
    ready: { tcp: { port: "\${port}" } }
    start-timeout: 1s` }));
    expect(r.ok).toBe(false);
    expect(r.app?.ready).toBe(false);
    expect(r.failures[0]).toMatch(/^the application did not become ready: not ready within 1000 ms; last probe: ECONNREFUSED/);
    expect(r.logTail).toContain("waiting for a lock that never comes");
    expect(r.logTail).toContain("warning: still waiting");
    expect(r.checks.every((c) => c.status === "skipped" && c.observed === "skipped: the application did not become ready")).toBe(true);
    expect(r.app?.stop?.how).toBe("SIGTERM");
    expect(alive(r.app!.pid!)).toBe(false);
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("stops at a failing step: later steps skipped, no app started, teardown runs", async () => {
    const r = await drill(yml({ steps: `    - { name: 10-ok, type: shell, run: "true" }
    - { name: 20-broken, type: shell, run: "echo cannot fix >&2; exit 3" }
    - { name: 30-never, type: shell, run: "touch \${sandbox}/should-not-exist" }` }));
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => [s.name, s.status])).toEqual([["10-ok", "passed"], ["20-broken", "failed"], ["30-never", "skipped"]]);
    expect(r.steps[1]).toMatchObject({ observed: "exit status 3", detail: "cannot fix" });
    expect(r.steps[2]!.observed).toBe("skipped: step 20-broken failed");
    expect(r.failures[0]).toBe("step 20-broken failed: exit status 3");
    expect(r.app).toBeNull();
    expect(r.checks.every((c) => c.status === "skipped")).toBe(true);
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("fails a SQL step on a missing table", async () => {
    const r = await drill(yml({ steps: `    - { name: 10-acl, type: sql, db: "\${sources.app}/app.sqlite", statements: "INSERT INTO acl VALUES ('p')" }` }));
    expect(r.steps[0]).toMatchObject({ status: "failed", observed: "failed: no such table: acl" });
  });

  it("fails when a budget is exceeded (RTO, and RPO of an old snapshot)", async () => {
    const old = (await snapshot(repo, { sources: [{ kind: "directory", name: "app", path: join(dir.path, "app") }], time: new Date(Date.now() - 2 * 86_400_000) })).manifest;
    const r = await drill(yml({ extra: "  max-rto: 1ms\n  max-rpo: 1d\n" }), { snapshot: old.id });
    expect(r.snapshot.id).toBe(old.id);
    expect(r.checks.every((c) => c.status === "passed")).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.budgets).toMatchObject({ maxRtoMs: 1, maxRpoMs: 86_400_000, rtoOk: false, rpoOk: false });
    expect(r.rpo.snapshotMs).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(r.failures.some((f) => /^RTO \d+ ms exceeds max-rto 1 ms$/.test(f))).toBe(true);
    expect(r.failures.some((f) => /^RPO \d+ ms \(snapshot\) exceeds max-rpo 86400000 ms$/.test(f))).toBe(true);
  });

  it("still runs with read-only credentials, and says it did not record", async () => {
    const ro = repo.readOnlyView();
    await expect(ro.store.put("x", new Uint8Array(1))).rejects.toBeInstanceOf(StoreError);
    const before = (await listAnnotations(repo)).bySnapshot.get(snapId)?.length ?? 0;
    const r = await drill(yml(), {}, ro);
    expect(r.ok).toBe(true);
    expect(r.recorded).toMatchObject({ ok: false, key: null, reason: expect.stringContaining("read-only") });
    expect((await listAnnotations(repo)).bySnapshot.get(snapId)?.length ?? 0).toBe(before);
  });

  it("is interrupted by its abort signal: teardown runs, nothing is recorded", async () => {
    const controller = new AbortController();
    const loaded = await loadConfig(dir.path, yml());
    const plan = await planDrill(repo, loaded, { env: ENV });
    let pid = 0;
    const r = await executeDrill(repo, plan, {
      tmpDir: sandboxes, signal: controller.signal,
      onEvent: (e) => {
        const m = /app ready after \d+ ms \(pid (\d+)/.exec(e.message);
        if (m) {
          pid = Number(m[1]);
          controller.abort();
        }
      },
    });
    expect(pid).toBeGreaterThan(0);
    expect(r.status).toBe("interrupted");
    expect(r.ok).toBe(false);
    expect(r.checks.every((c) => c.status === "skipped")).toBe(true);
    expect(r.recorded).toEqual({ ok: false, key: null, reason: "the drill was interrupted" });
    expect(alive(pid)).toBe(false);
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("is interrupted during the restore: nothing else runs, the sandbox goes", async () => {
    const controller = new AbortController();
    const loaded = await loadConfig(dir.path, yml());
    const plan = await planDrill(repo, loaded, { env: ENV });
    const r = await executeDrill(repo, plan, { tmpDir: sandboxes, signal: controller.signal, onEvent: (e) => e.phase === "restore" && controller.abort() });
    expect(r.status).toBe("interrupted");
    expect(r.restore).toBeNull();
    expect(r.steps.every((s) => s.status === "skipped")).toBe(true);
    expect(r.app).toBeNull();
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("--keep leaves the sandbox with the restored data and the log, but stops the app", async () => {
    const r = await drill(yml(), { keep: true });
    expect(r.sandbox.kept).toBe(true);
    expect((await readdir(r.sandbox.path)).sort()).toEqual(["logs", "marker.txt", "restored"]);
    expect(existsSync(join(r.sandbox.path, "restored/app/app.sqlite"))).toBe(true);
    expect(existsSync(join(r.sandbox.path, "logs/app.log"))).toBe(true);
    expect(alive(r.app!.pid!)).toBe(false);
    await rm(r.sandbox.path, { recursive: true });
  });

  it("places sources where configured and tells the app through an environment variable", async () => {
    const r = await drill(yml({
      extra: "  sources: { app: { path: srv/data, env: APP_DATA } }\n",
      checks: `    - { name: env, type: command, shell: 'test "$APP_DATA" = "$(pwd)/srv/data" && test -f "$APP_DATA/app.sqlite"' }
    - { name: alice, type: http, url: "http://127.0.0.1:\${port}/count", expect: ["$.count == 5"] }`,
    }));
    expect(r.failures).toEqual([]);
    expect(r.sources[0]).toMatchObject({ name: "app", env: "APP_DATA", path: join(r.sandbox.path, "srv/data") });
  });

  it("kills an application that ignores SIGTERM, and its children, after the stop timeout", async () => {
    const pidFile = join(dir.path, "pids.txt");
    const r = await drill(yml({ app: `    command: ["${NODE}", "${DRILL_APP}"]
    env: { APP_IGNORE_TERM: "1", APP_CHILD: "1", APP_PID_FILE: "${pidFile}" }
    ready: { log: "listening on \\\\d+" }
    stop-timeout: 300ms` }));
    expect(r.ok).toBe(true);
    expect(r.app?.probe).toBe("log line matches /listening on \\d+/");
    expect(r.app?.stop?.how).toBe("SIGKILL");
    const pids = (await import("node:fs")).readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});

describe("drill planning errors", () => {
  it("a selector that matches nothing lists the nearest snapshots", async () => {
    const loaded = await loadConfig(dir.path, yml());
    const err = await planDrill(repo, loaded, { env: ENV, snapshot: "latest-before:2000-01-01" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/^no snapshot matches latest-before:2000-01-01T00:00:00\.000Z \(nearest by time: \d{8}T\d{6}Z-[0-9a-f]{8}/);
    expect((err as NotFoundError).details.nearest).toContain(snapId);
  });

  it("a variable naming a source the snapshot lacks is a config error naming the place", async () => {
    const loaded = await loadConfig(dir.path, yml({ checks: `    - { name: c, type: sqlite-integrity, db: "\${sources.pds}/x.sqlite" }` }));
    await expect(planDrill(repo, loaded, { env: ENV })).rejects.toThrow(/^restorable\.yml: drill\.checks\[0\]\.db: \$\{sources\.pds\}: snapshot \S+ has no source "pds" \(it has: app\)$/);
  });

  it("a canary outside the sources is a config error", async () => {
    const loaded = await loadConfig(dir.path, yml().replace("canary: { db: ./app/app.sqlite }", "canary: { db: ./elsewhere.sqlite }"));
    await expect(planDrill(repo, loaded, { env: ENV })).rejects.toThrow("drill.canary.db: ./elsewhere.sqlite is not inside any of the sources:");
  });
});
