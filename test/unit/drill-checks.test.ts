/**
 * Each drill check type on real things: `http` against a real node:http
 * server, `sql` on a real SQLite file, `command` with real processes (and a
 * timeout that must kill the whole process group), `file` on real files;
 * plus git-fsck and sqlite-integrity on broken inputs.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExpectation } from "../../src/checks/compare.js";
import { runCommandCheck } from "../../src/checks/command.js";
import { killGroup } from "../../src/checks/exec.js";
import { runFileCheck } from "../../src/checks/file.js";
import { runHttpCheck } from "../../src/checks/http.js";
import { parseJsonPathExpectation } from "../../src/checks/json-path.js";
import { runGitFsckCheck, runSqliteIntegrityCheck } from "../../src/checks/repo-checks.js";
import { runSqlCheck } from "../../src/checks/sql.js";
import type { HttpCheckSpec } from "../../src/checks/types.js";
import { freePort } from "../../src/sandboxes/phases.js";
import { tempDir } from "../helpers/fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let server: Server;
let base = "";
const seen: { method?: string; body?: string; auth?: string; type?: string } = {};

beforeAll(async () => {
  dir = await tempDir("restorable-checks-");
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      Object.assign(seen, { method: req.method, body, auth: req.headers.authorization, type: req.headers["content-type"] });
      if (req.url === "/repo") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ handle: "alice.test", did: "did:plc:abc", collections: ["app.bsky.feed.post"], count: 3 }));
      } else if (req.url === "/text") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello restorable");
      } else if (req.url === "/slow") {
        setTimeout(() => res.end("late"), 2000);
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "RepoNotFound" }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dir.cleanup();
});

const http = (over: Partial<HttpCheckSpec>): HttpCheckSpec => ({ method: "GET", url: `${base}/repo`, headers: {}, status: [200], expect: [], contains: [], timeoutMs: 5000, ...over });

describe("http check", () => {
  it("passes when status, JSON paths and body substrings match, and reports what it saw", async () => {
    const o = await runHttpCheck(http({ expect: ['$.handle == "alice.test"', "$.collections.length >= 1", "$.error !exists"].map(parseJsonPathExpectation), contains: ["did:plc:abc"] }), {});
    expect(o.ok).toBe(true);
    expect(o.assertions.map((a) => [a.what, a.ok, a.observed])).toEqual([
      ["status 200", true, "200"],
      ['$.handle == "alice.test"', true, '"alice.test"'],
      ["$.collections.length >= 1", true, "1"],
      ["$.error !exists", true, "(missing)"],
      ['body contains "did:plc:abc"', true, "found"],
    ]);
  });

  it("fails with the observed value of every failing assertion", async () => {
    const o = await runHttpCheck(http({ expect: ['$.handle == "bob.test"', "$.count > 5"].map(parseJsonPathExpectation), contains: ["nowhere"] }), {});
    expect(o.ok).toBe(false);
    expect(o.observed).toBe('$.handle == "bob.test": got "alice.test"');
    expect(o.assertions.filter((a) => !a.ok).map((a) => a.observed)).toEqual(['"alice.test"', "3", expect.stringContaining("not found")]);
  });

  it("fails on an unexpected status and shows it", async () => {
    const o = await runHttpCheck(http({ url: `${base}/nope`, expect: [parseJsonPathExpectation("$.handle exists")] }), {});
    expect(o.ok).toBe(false);
    expect(o.observed).toBe("status 200: got 404");
  });

  it("sends the method, headers and body", async () => {
    const o = await runHttpCheck(http({ method: "POST", url: `${base}/text`, headers: { authorization: "Bearer t", "content-type": "application/json" }, body: '{"a":1}', contains: ["hello"] }), {});
    expect(o.ok).toBe(true);
    expect(seen).toMatchObject({ method: "POST", body: '{"a":1}', auth: "Bearer t", type: "application/json" });
  });

  it("reports a body that is not JSON, a refused connection and a timeout", async () => {
    const notJson = await runHttpCheck(http({ url: `${base}/text`, expect: [parseJsonPathExpectation("$.x exists")] }), {});
    expect(notJson.ok).toBe(false);
    expect(notJson.observed).toContain("the body is not JSON");
    const closed = await runHttpCheck(http({ url: `http://127.0.0.1:${await freePort()}/` }), {});
    expect(closed.ok).toBe(false);
    expect(closed.observed).toContain("ECONNREFUSED");
    const slow = await runHttpCheck(http({ url: `${base}/slow`, timeoutMs: 300 }), {});
    expect(slow.ok).toBe(false);
    expect(slow.observed).toContain("no answer within 300 ms");
  });
});

describe("sql check", () => {
  let db = "";
  beforeAll(() => {
    db = join(dir.path, "acl.sqlite");
    const d = new Database(db);
    d.pragma("journal_mode = WAL");
    d.exec("CREATE TABLE acl(p TEXT, subject TEXT, domain TEXT, object TEXT, action TEXT)");
    const ins = d.prepare("INSERT INTO acl VALUES ('p', ?, 'thisserver', ?, ?)");
    for (const action of ["repo:push", "repo:owner", "repo:settings"]) ins.run("did:plc:alice", "did:plc:alice/infra", action);
    d.close();
  });

  it("compares a scalar and a row count", () => {
    const o = runSqlCheck({ db, query: "SELECT count(*) FROM acl WHERE action = 'repo:push'", expect: parseExpectation("== 1") }, { cwd: dir.path });
    expect(o.ok).toBe(true);
    expect(o.observed).toBe("1");
    const rows = runSqlCheck({ db: "acl.sqlite", query: "SELECT * FROM acl", rows: parseExpectation(">= 3"), expect: { kind: "compare", op: "==", value: "p" } }, { cwd: dir.path });
    expect(rows.ok).toBe(true);
    expect(rows.assertions.map((a) => a.observed)).toEqual(['"p"', "3"]);
  });

  it("fails with the observed value", () => {
    const o = runSqlCheck({ db, query: "SELECT count(*) FROM acl", expect: parseExpectation(">= 10") }, { cwd: dir.path });
    expect(o.ok).toBe(false);
    expect(o.observed).toBe("value >= 10: got 3");
    const none = runSqlCheck({ db, query: "SELECT subject FROM acl WHERE 0", expect: parseExpectation("exists") }, { cwd: dir.path });
    expect(none.ok).toBe(false);
    expect(none.observed).toBe("value exists: got (missing)");
  });

  it("fails on a missing table or database, and never writes", () => {
    const t = runSqlCheck({ db, query: "SELECT count(*) FROM nope", expect: parseExpectation("== 0") }, { cwd: dir.path });
    expect(t.ok).toBe(false);
    expect(t.detail).toContain("no such table: nope");
    const f = runSqlCheck({ db: "missing.sqlite", query: "SELECT 1", expect: 1 as never }, { cwd: dir.path });
    expect(f.ok).toBe(false);
    expect(f.observed).toContain("query failed");
    const w = runSqlCheck({ db, query: "DELETE FROM acl", rows: parseExpectation("== 0") }, { cwd: dir.path });
    expect(w.ok).toBe(false);
    const d = new Database(db, { readonly: true });
    expect(d.prepare("SELECT count(*) AS n FROM acl").get()).toEqual({ n: 3 });
    d.close();
  });
});

describe("command check", () => {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

  it("checks the exit status and stdout", async () => {
    const o = await runCommandCheck({ argv: ["/bin/sh", "-c", "echo handle=alice.test; exit 0"], display: "echo", exit: 0, stdout: /^handle=alice\.test$/m, timeoutMs: 5000 }, { cwd: dir.path, env });
    expect(o.ok).toBe(true);
    const bad = await runCommandCheck({ argv: ["/bin/sh", "-c", "echo oops >&2; exit 3"], display: "sh", exit: 0, timeoutMs: 5000 }, { cwd: dir.path, env });
    expect(bad.ok).toBe(false);
    expect(bad.observed).toBe("exit 0: got exit status 3");
    expect(bad.detail).toContain("oops");
    const nomatch = await runCommandCheck({ argv: ["/bin/echo", "bob"], display: "echo bob", exit: 0, stdout: /alice/, timeoutMs: 5000 }, { cwd: dir.path, env });
    expect(nomatch.ok).toBe(false);
    expect(nomatch.observed).toBe('stdout ~ /alice/: got "bob"');
  });

  it("sees only the environment it is given", async () => {
    const o = await runCommandCheck({ argv: ["/bin/sh", "-c", "echo \"[$RESTORABLE_PASSWORD][$PATH]\""], display: "env", exit: 0, stdout: /^\[\]\[/, timeoutMs: 5000 }, { cwd: dir.path, env });
    expect(o.ok).toBe(true);
  });

  it("kills the whole process group on timeout", async () => {
    const pidFile = join(dir.path, "grandchild.pid");
    const o = await runCommandCheck({ argv: ["/bin/sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`], display: "sleep", exit: 0, timeoutMs: 400 }, { cwd: dir.path, env });
    expect(o.ok).toBe(false);
    expect(o.observed).toBe("exit 0: got timed out after 400 ms");
    const pid = Number(execFileSync("cat", [pidFile]).toString().trim());
    expect(pid).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(killGroup(pid, 0)).toBe(false);
  });

  it("reports a program that cannot start", async () => {
    const o = await runCommandCheck({ argv: ["/nonexistent/tool"], display: "tool", exit: 0, timeoutMs: 5000 }, { cwd: dir.path, env });
    expect(o.ok).toBe(false);
    expect(o.observed).toContain("could not start");
  });
});

describe("file check", () => {
  let hook = "";
  beforeAll(async () => {
    await mkdir(join(dir.path, "repo.git/hooks"), { recursive: true });
    hook = join(dir.path, "repo.git/hooks/post-receive");
    await writeFile(hook, "#!/bin/sh\necho received\n");
    await chmod(hook, 0o755);
  });

  it("checks existence, mode, sha256 and size", async () => {
    const sha = createHash("sha256").update("#!/bin/sh\necho received\n").digest("hex");
    const o = await runFileCheck({ path: "repo.git/hooks/post-receive", exists: true, modeExact: 0o755, modeText: "0755", sha256: sha, minSize: 1, maxSize: 100 }, { cwd: dir.path });
    expect(o.ok).toBe(true);
    expect(o.assertions.map((a) => a.what)).toEqual(["exists", "mode 0755", `sha256 ${sha}`, "size 1..100"]);
  });

  it("fails on a lost execute bit, a changed content, a size out of range, a missing file", async () => {
    await chmod(hook, 0o644);
    const mode = await runFileCheck({ path: hook, exists: true, modeHas: 0o100, modeText: "u+x" }, { cwd: dir.path });
    expect(mode.ok).toBe(false);
    expect(mode.observed).toBe("mode u+x: got 0644");
    await chmod(hook, 0o755);
    const sha = await runFileCheck({ path: hook, exists: true, sha256: "0".repeat(64) }, { cwd: dir.path });
    expect(sha.ok).toBe(false);
    const size = await runFileCheck({ path: hook, exists: true, minSize: 1000 }, { cwd: dir.path });
    expect(size.observed).toBe("size 1000..∞: got 24 bytes");
    const missing = await runFileCheck({ path: "repo.git/hooks/pre-receive", exists: true }, { cwd: dir.path });
    expect(missing.ok).toBe(false);
    expect(missing.observed).toBe("exists: got missing");
    const absent = await runFileCheck({ path: "repo.git/hooks/pre-receive", exists: false }, { cwd: dir.path });
    expect(absent.ok).toBe(true);
    const present = await runFileCheck({ path: hook, exists: false }, { cwd: dir.path });
    expect(present.ok).toBe(false);
  });
});

describe("git-fsck and sqlite-integrity checks", () => {
  it("fail when there is nothing to check or the data is damaged", async () => {
    const none = await runGitFsckCheck({ path: ".", timeoutMs: 10_000 }, { cwd: join(dir.path, "repo.git/hooks") });
    expect(none.ok).toBe(false);
    expect(none.observed).toBe("no git directory found");
    await writeFile(join(dir.path, "garbage.sqlite"), "SQLite format 3\0" + "x".repeat(5000));
    const bad = runSqliteIntegrityCheck({ db: "garbage.sqlite" }, { cwd: dir.path });
    expect(bad.ok).toBe(false);
  });
});
