/**
 * The real application, end to end: Soul (soul-cli from the npm registry,
 * a SQLite REST server no one here wrote) runs as its own process on a
 * live data folder; records are created through its HTTP API; `restorable
 * snapshot` backs the folder up while Soul keeps running (and writes the
 * RPO canary into Soul's database); more records are written after the
 * snapshot; then `restorable drill` restores the snapshot into a local
 * sandbox, starts a second Soul on the restored copy, and asserts through
 * Soul's HTTP API that every record of the snapshot is there, and the
 * later one is not. docs/examples/soul.md is this test as a walkthrough.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/sandboxes/phases.js";
import { CLI, ensureBuilt } from "../helpers/cli.js";
import { groupMembers } from "../helpers/drill.js";
import { tempDir } from "../helpers/fixtures.js";
import { SOUL_DIR, SOUL_SERVER, ensureSoulInstalled } from "../helpers/soul.js";

const NODE = process.execPath;
const RECORDS = 25;
let dir: { path: string; cleanup: () => Promise<void> };
let live: ChildProcess | undefined;
let api = "";

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RESTORABLE_")) env[k] = v;
  Object.assign(env, { RESTORABLE_PASSWORD: "pw", RESTORABLE_SCRYPT_N: "1024" });
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: dir.path, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${api}${path}`, { method, ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  ensureSoulInstalled();
  ensureBuilt();
  dir = await tempDir("restorable-soul-");
  await mkdir(join(dir.path, "soul-data"));
  const port = await freePort();
  api = `http://127.0.0.1:${port}/api`;
  live = spawn(NODE, [SOUL_SERVER, "-d", join(dir.path, "soul-data/soul.db"), "-p", String(port)], { cwd: SOUL_DIR, stdio: "ignore", detached: true });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error("Soul did not answer on /api/ within 30 s");
    await sleep(100);
  }
}, 300_000);

afterAll(async () => {
  if (live?.pid) {
    try {
      process.kill(-live.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await dir?.cleanup();
});

describe("drill of Soul, a SQLite REST server from the npm registry", () => {
  it("restores a snapshot taken while Soul runs, and Soul on the restored data serves every record", async () => {
    // 1. Real data, through Soul's own API.
    const created = await call("POST", "/tables", { name: "notes", schema: [{ name: "title", type: "TEXT", notNull: true }, { name: "body", type: "TEXT" }, { name: "stars", type: "INTEGER" }] });
    expect(created.status).toBe(201);
    for (let i = 1; i <= RECORDS; i++) {
      const r = await call("POST", "/tables/notes/rows", { fields: { title: `note ${i}`, body: `body of note ${i} ${"x".repeat(i * 10)}`, stars: i % 6 } });
      expect(r.json.data.lastInsertRowid).toBe(i);
    }
    expect((await call("GET", "/tables/notes/rows?_limit=1")).json.total).toBe(RECORDS);

    // 2. Snapshot the data folder while Soul runs (its last writes may still be in the WAL).
    const checks = [
      `    - { name: total, type: http, url: "http://127.0.0.1:\${port}/api/tables/notes/rows?_limit=1", expect: ["$.total == ${RECORDS}"] }`,
      ...Array.from({ length: RECORDS }, (_, k) => k + 1).map((i) =>
        `    - { name: note-${i}, type: http, url: "http://127.0.0.1:\${port}/api/tables/notes/rows/${i}", expect: ['$.data[0].title == "note ${i}"', "$.data[0].stars == ${i % 6}", '$.data[0].body == "body of note ${i} ${"x".repeat(i * 10)}"'] }`),
      `    - { name: not-yet-written, type: http, url: "http://127.0.0.1:\${port}/api/tables/notes/rows/${RECORDS + 1}", status: 404 }`,
      `    - { name: tables, type: http, url: "http://127.0.0.1:\${port}/api/tables", contains: '"name":"notes"' }`,
      `    - { name: db-integrity, type: sqlite-integrity, db: "\${sources.soul}/soul.db" }`,
    ];
    await writeFile(join(dir.path, "restorable.yml"), `
repository: ./repo
sources:
  - { name: soul, path: ./soul-data }
drill:
  canary: { db: ./soul-data/soul.db }
  app:
    command: ["${NODE}", "${SOUL_SERVER}", "-d", "\${sources.soul}/soul.db", "-p", "\${port}"]
    cwd: ${SOUL_DIR}
    ready: { http: { url: "http://127.0.0.1:\${port}/api/", status: 200 } }
    start-timeout: 60s
  checks:
${checks.join("\n")}
  max-rto: 2min
  max-rpo: 1h
`);
    expect((await cli(["init"])).code).toBe(0);
    const snap = await cli(["snapshot", "--json"]);
    expect(snap.code, snap.stderr).toBe(0);
    expect(JSON.parse(snap.stdout)).toMatchObject({ sources: [{ name: "soul", databases: [{ path: "soul.db" }] }], canary: expect.any(String) });

    // 3. A write after the snapshot: it must not be in the restored data.
    expect((await call("POST", "/tables/notes/rows", { fields: { title: "after the snapshot" } })).json.data.lastInsertRowid).toBe(RECORDS + 1);

    // 4. The drill: a second Soul on the restored copy, checked through its API.
    const drill = await cli(["drill", "--json", "--markdown", "drill.md"]);
    const report = JSON.parse(drill.stdout);
    expect(report.failures, drill.stderr).toEqual([]);
    expect(drill.code).toBe(0);
    expect(report.status).toBe("passed");
    expect(report.checks).toHaveLength(RECORDS + 4);
    expect(report.checks.filter((c: { status: string }) => c.status === "passed")).toHaveLength(RECORDS + 4);
    expect(report.checks[0].assertions[1]).toEqual({ what: `$.total == ${RECORDS}`, ok: true, observed: String(RECORDS) });
    expect(report.app).toMatchObject({ ready: true, probe: expect.stringContaining("/api/ -> 200") });
    expect(report.rtoMs).toBeGreaterThan(0);
    expect(report.rpo.canaryMs).toBeGreaterThanOrEqual(report.rpo.snapshotMs);
    expect(report.recorded.ok).toBe(true);
    expect(groupMembers(report.app.pid)).toEqual([]);
    // The live Soul was never touched: it still has the later record.
    expect((await call("GET", "/tables/notes/rows?_limit=1")).json.total).toBe(RECORDS + 1);
  });
});
