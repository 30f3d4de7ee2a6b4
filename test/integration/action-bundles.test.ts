/**
 * Every action bundle (dist/<name>/), run with Node 24 from a copy outside
 * the repository, without node_modules, with inputs as INPUT_* variables and
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files as a runner gives them: outputs,
 * job summaries (which act does not emulate), secret masking, redaction, and
 * the bad-input cases. Local repositories here; S3 (MinIO) cases in
 * action-bundles-s3.test.ts.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleCopies, type BundleRun } from "../helpers/action-bundle.js";

const PASSWORD = "pw-Secret-5e1f0c9a";
const PRIVATE = "PRIVATE-VALUE-0123456789";
const copies = new BundleCopies();
const runs: BundleRun[] = [];
let ws: string;

/** Writes the user's workspace: data (a SQLite DB, files, a stray restorable.yml) and restorable.yml with a drill. */
async function makeWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "restorable-ws-"));
  await mkdir(join(dir, "data", "conf"), { recursive: true });
  const db = new Database(join(dir, "data", "app.sqlite"));
  db.exec(`CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items(name) VALUES ('a'), ('b'), ('c');
           CREATE TABLE private(v TEXT); INSERT INTO private VALUES ('${PRIVATE}');`);
  db.close();
  await writeFile(join(dir, "data", "notes.txt"), "hello from the app\n");
  await writeFile(join(dir, "data", "conf", "restorable.yml"), "repository: /somewhere/else\n");
  const checks = `
  checks:
    - name: items
      type: sql
      db: \${sources.app}/app.sqlite
      query: select count(*) from items
      expect: 3
    - name: notes
      type: file
      path: \${sources.app}/notes.txt
    - name: integrity
      type: sqlite-integrity
      db: \${sources.app}/app.sqlite`;
  await writeFile(join(dir, "restorable.yml"), `repository: ./backup\nsources:\n  - name: app\n    path: ./data\ndrill:${checks}\n`);
  await writeFile(join(dir, "private.yml"), `repository: ./backup\nsources:\n  - name: app\n    path: ./data\ndrill:\n  checks:\n    - name: private value\n      type: sql\n      db: \${sources.app}/app.sqlite\n      query: select v from private\n      expect: something else\n`);
  await writeFile(join(dir, "bad.yml"), "repository: ./backup\nsources:\n  - path: ./data\n    exlude: ['*.tmp']\n");
  return dir;
}

async function run(name: string, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<BundleRun> {
  const r = await copies.run(name, { password: PASSWORD, ...inputs }, { cwd: ws, env: { RESTORABLE_SCRYPT_N: "1024", ...env } });
  runs.push(r);
  return r;
}

/** The message of the step's `::error::` line. */
function errorLine(r: BundleRun): string {
  return r.stdout.split("\n").find((l) => l.startsWith("::error::")) ?? `(no ::error:: line; stderr: ${r.stderr})`;
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

beforeAll(async () => {
  for (const name of ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"]) {
    if (!existsSync(join(import.meta.dirname, "../../dist", name, "index.js"))) throw new Error(`dist/${name}/index.js is missing: run npm run bundle`);
  }
  ws = await makeWorkspace();
});

afterAll(async () => {
  await copies.cleanup();
  await rm(ws, { recursive: true, force: true });
});

describe("action bundles on a local repository", () => {
  let firstId = "";

  it("snapshot creates the repository (init) and reports outputs and a summary table with the history chart", async () => {
    const r = await run("snapshot", { init: "true", tags: "ci" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    firstId = r.outputs["snapshot-id"]!;
    expect(firstId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(Number(r.outputs["bytes-added"])).toBeGreaterThan(0);
    expect(Number(r.outputs.files)).toBe(3);
    expect(r.outputs.verified).toBe("true");
    expect(r.summary).toContain(`## restorable snapshot ✅ \`${firstId}\``);
    expect(r.summary).toMatch(/\| app \| directory, 1 SQLite \| 3 \|/);
    expect(r.summary).toContain("```mermaid\nxychart-beta");
    expect(existsSync(join(ws, "backup", "config"))).toBe(true);
  });

  it("verify reads every byte, runs semantic checks, and passes the freshness check", async () => {
    const r = await run("verify", { "read-data": "true", semantic: "true", "max-age": "1h" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ verified: "true", fresh: "true", level: "read-data", "checked-count": "1", "snapshot-id": firstId });
    expect(Number(r.outputs["rpo-seconds"])).toBeLessThan(3600);
    expect(r.summary).toContain("✅ sqlite-integrity app/app.sqlite");
    expect(r.summary).toContain("✅ Fresh");
  });

  it("verify fails when the newest snapshot is older than max-age, with a message saying why", async () => {
    const r = await run("verify", { "max-age": "1ms" });
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({ verified: "true", fresh: "false", "error-code": "STALE" });
    expect(errorLine(r)).toMatch(/newest snapshot .* older than max-age 1 ms: scheduled backups stopped or were delayed/);
    expect(r.summary).toContain("❌ **Stale**");
  });

  it("restore-drill passes, with RTO and every check in the summary", async () => {
    const r = await run("restore-drill", {});
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ "drill-passed": "true", "snapshot-id": firstId, "checks-passed": "3", "checks-failed": "0", recorded: "true" });
    expect(Number(r.outputs["rto-seconds"])).toBeGreaterThan(0);
    expect(Number(r.outputs["rpo-seconds"])).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(await readFile(r.outputs["report-file"]!, "utf8"))).toMatchObject({ ok: true, snapshot: { id: firstId } });
    expect(r.summary).toMatch(/\| items \| sql \| ✅ pass \|/);
    expect(r.summary).toContain("## restorable restore drill ✅ passed");
  });

  it("restore-drill with a migration that breaks the data fails the step and names the check", async () => {
    const r = await run("restore-drill", { migrate: "sqlite3 ${sources.app}/app.sqlite 'DELETE FROM items'", record: "false" });
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({ "drill-passed": "false", "error-code": "DRILL_FAILED", "checks-failed": "1" });
    expect(errorLine(r)).toContain("check items failed");
    expect(r.summary).toMatch(/\| migrate \(input\) \| shell \| ✅ pass \|/);
    expect(r.summary).toMatch(/\| items \| sql \| ❌ fail \|/);
  });

  it("the history chart shows the drill RTO once a drill was recorded", async () => {
    const r = await run("verify", {});
    expect(r.status).toBe(0);
    expect(r.summary).toContain('title "Restore drill RTO, seconds"');
  });

  it("summaries truncate observed values, and redact: true hides them", async () => {
    const plain = await run("restore-drill", { config: "private.yml", "summary-max-value": "12", record: "false" });
    expect(plain.status).toBe(1);
    expect(plain.summary).toMatch(/\| private value \| sql \| ❌ fail \| .* \| value == "so… \(\d+ more characters\) \|/);
    expect(plain.summary).not.toContain(PRIVATE);
    const redacted = await run("restore-drill", { config: "private.yml", redact: "true", record: "false" });
    expect(redacted.status).toBe(1);
    expect(redacted.summary).toContain("(redacted)");
    expect(redacted.summary).not.toContain("PRIVATE-VALU");
    expect(redacted.outputs.recorded).toBe("false");
  });

  it("clone-cluster restores a point in time into a new folder, without repository configuration, and checks it", async () => {
    const target = join(await mkdtemp(join(tmpdir(), "restorable-clone-")), "clone");
    const r = await run("clone-cluster", { target, "target-time": new Date(Date.now() + 60_000).toISOString() });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ "snapshot-id": firstId, target, "drill-passed": "true", "checks-passed": "3" });
    const files = await listFiles(target);
    expect(files).toContain("app/app.sqlite");
    expect(files).toContain("restorable-clone.json");
    expect(files.filter((f) => /restorable\.ya?ml$/.test(f))).toEqual([]);
    const meta = await readFile(join(target, "restorable-clone.json"), "utf8");
    expect(JSON.parse(meta)).toMatchObject({ snapshot: { id: firstId }, removedConfigFiles: ["app/conf/restorable.yml"] });
    expect(meta).not.toContain(join(ws, "backup"));
    expect(r.summary).toContain("Removed 1 repository configuration file(s)");
    await rm(join(target, ".."), { recursive: true, force: true });
  });

  it("clone-cluster refuses a target inside the repository, and postgres/kubernetes targets as not supported yet", async () => {
    const inside = await run("clone-cluster", { target: join(ws, "backup", "clone") });
    expect(inside.status).toBe(1);
    expect(errorLine(inside)).toContain("overlaps the repository");
    const pg = await run("clone-cluster", { target: "/tmp/pg-clone", "target-kind": "postgres" });
    expect(pg.status).toBe(1);
    expect(errorLine(pg)).toContain('input "target-kind": postgres clones are not supported yet');
    const k8s = await run("clone-cluster", { target: "/tmp/k8s-clone", "target-kind": "kubernetes" });
    expect(errorLine(k8s)).toContain("kubernetes clones are not supported yet");
  });

  it("prune applies keep-last, keeps the snapshot of the last passed drill, and explains each decision", async () => {
    for (const text of ["changed\n", "changed again\n"]) {
      await writeFile(join(ws, "data", "notes.txt"), text);
      const r = await run("snapshot", {});
      expect(r.status, r.stdout).toBe(0);
      await new Promise((res) => setTimeout(res, 1100)); // snapshot ids carry the time to the second
    }
    const dry = await run("prune", { "keep-last": "1", "dry-run": "true" });
    expect(dry.status, dry.stdout).toBe(0);
    expect(dry.outputs).toMatchObject({ "dry-run": "true", "removed-count": "1" });
    expect(dry.summary).toContain("Dry run: nothing changed");
    const r = await run("prune", { "keep-last": "1" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ "removed-count": "1", "kept-count": "2", "dry-run": "false" });
    expect(r.summary).toMatch(new RegExp(`\\| keep \\| \`${firstId}\` \\|.*last passed drill`));
    expect(r.summary).toContain("matched no rule");
    expect((await readdir(join(ws, "backup", "snapshots"))).length).toBe(2);
  });
});

describe("bad input", () => {
  it("a missing required input names it", async () => {
    const noSecret = await copies.run("snapshot", {}, { cwd: ws });
    runs.push(noSecret);
    expect(noSecret.status).toBe(1);
    expect(errorLine(noSecret)).toContain('input "password" or "key" is required');
    expect(noSecret.outputs["error-code"]).toBe("CONFIG");
    const noTarget = await run("clone-cluster", {});
    expect(errorLine(noTarget)).toContain('input "target" is required');
  });

  it("an invalid value names the input and the accepted values", async () => {
    const r = await run("verify", { redact: "yes" });
    expect(r.status).toBe(1);
    expect(errorLine(r)).toContain('input "redact": expected true or false, got "yes"');
    const kind = await run("clone-cluster", { target: "/tmp/x", "target-kind": "tape" });
    expect(errorLine(kind)).toContain('input "target-kind": expected one of path, s3, postgres, kubernetes, got "tape"');
  });

  it("an unknown key in restorable.yml names the file and the path", async () => {
    const r = await run("snapshot", { config: "bad.yml" });
    expect(r.status).toBe(1);
    expect(errorLine(r)).toContain("bad.yml: sources[0].exlude: unknown key");
  });

  it("a config path that does not exist is named", async () => {
    const r = await run("verify", { config: "nope/restorable.yml" });
    expect(r.status).toBe(1);
    expect(errorLine(r)).toContain('input "config": nope/restorable.yml does not exist');
  });

  it("a wrong password fails with the documented message and writes nothing", async () => {
    const before = await listFiles(join(ws, "backup"));
    const r = await copies.run("snapshot", { password: "wrong-password" }, { cwd: ws });
    runs.push(r);
    expect(r.status).toBe(1);
    expect(errorLine(r)).toContain("no key slot opens with the password given");
    expect(r.outputs["error-code"]).toBe("WRONG_KEY");
    expect(await listFiles(join(ws, "backup"))).toEqual(before);
  });

  it("both password and key are refused", async () => {
    const r = await run("verify", { key: "00".repeat(32) });
    expect(errorLine(r)).toContain('inputs "password" and "key" were both given');
  });
});

describe("secrets", () => {
  it("the password is masked before anything else is printed and never appears in any log, output or summary", () => {
    expect(runs.length).toBeGreaterThan(15);
    for (const r of runs) {
      const lines = r.stdout.split("\n");
      if (lines.some((l) => l.startsWith("::add-mask::"))) expect(lines[0]).toMatch(/^::add-mask::/);
      const visible = lines.filter((l) => !l.startsWith("::add-mask::")).join("\n");
      for (const text of [visible, r.stderr, r.summary, JSON.stringify(r.outputs)]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain("wrong-password");
      }
    }
    expect(runs.filter((r) => r.stdout.startsWith(`::add-mask::${PASSWORD}`)).length).toBeGreaterThan(10);
  });

  it("the bundles ran from copies with no node_modules anywhere above them", () => {
    for (const name of ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"]) copies.assertNoNodeModules(name);
  });
});
