/**
 * Validation of the `drill:` section of restorable.yml: a complete valid
 * section, and errors that name the place in the file (unknown check type,
 * malformed JSON path, bad durations and modes, secrets in the
 * environment, kind without its section...). Also the duration and mode
 * languages on their own.
 */
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/load.js";
import { parseDuration } from "../../src/config/duration.js";
import { applyMode, parseMode, requiredBits } from "../../src/config/mode.js";
import { ConfigError } from "../../src/core/errors.js";

const VALID = `
sources:
  - { name: pds, path: ./pds }
drill:
  snapshot: latest-before:2026-11-01
  sources:
    pds: { path: data/pds, env: PDS_DATA_DIRECTORY }
  env: { PDS_PORT: "\${port}", PDS_HOSTNAME: localhost }
  pass-env: [PG*, LOG_LEVEL]
  steps:
    - { name: 10-seq, type: sql, db: "\${sources.pds}/sequencer.sqlite", statements: "UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'repo_seq'" }
    - { name: 20-hooks, type: chmod, path: "\${sources.pds}", glob: "**/hooks/post-receive", mode: +x }
    - { name: 30-script, type: shell, run: "ls \${sources.pds}", timeout: 30s }
  app:
    command: [node, index.js]
    cwd: \${config}
    ready: { http: { url: "http://127.0.0.1:\${port}/xrpc/_health", status: 200 } }
    start-timeout: 2min
  checks:
    - name: handle
      type: http
      url: http://127.0.0.1:\${port}/xrpc/com.atproto.repo.describeRepo?repo=did:plc:x
      expect: ['$.handle == "alice.test"', "$.didDoc exists"]
      contains: alice
    - { name: accounts, type: sql, db: "\${sources.pds}/account.sqlite", query: "SELECT count(*) FROM account", expect: ">= 1" }
    - { name: rows, type: sql, db: "\${sources.pds}/account.sqlite", query: "SELECT * FROM account", rows: 3 }
    - { name: git, type: command, run: [git, --version], stdout: "^git version" }
    - { name: hook, type: file, path: "\${sources.pds}/repo.git/hooks/post-receive", mode: "0755", size: { min: 1 } }
    - { name: fsck, type: git-fsck, path: "\${sources.pds}" }
    - { name: integrity, type: sqlite-integrity, db: "\${sources.pds}/account.sqlite" }
  max-rto: 15min
  max-rpo: 26h
  canary: { db: ./pds/account.sqlite }
`;

/** The ConfigError parseConfigText throws for `text`. */
function configError(text: string): ConfigError {
  try {
    parseConfigText(text, "restorable.yml");
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

/** A drill section with one check replaced by `check` (YAML flow mapping). */
const withCheck = (check: string): string => `drill:\n  checks:\n    - { name: a, type: file, path: x }\n    - { name: b, type: file, path: y }\n    - ${check}\n`;

describe("drill: section", () => {
  it("accepts a complete drill section", () => {
    const c = parseConfigText(VALID, "restorable.yml");
    expect(c.drill?.checks).toHaveLength(7);
    expect(c.drill?.steps?.map((s) => s.type)).toEqual(["sql", "chmod", "shell"]);
    expect(c.drill?.sources?.pds).toEqual({ path: "data/pds", env: "PDS_DATA_DIRECTORY" });
  });

  it("names the place of an unknown check type", () => {
    const e = configError(withCheck("{ name: c, type: ping, url: x }"));
    expect(e.details.field).toBe("drill.checks[2].type");
    expect(e.message).toMatch(/^restorable\.yml: drill\.checks\[2\]\.type: expected one of "http", "sql", "command", "file", "git-fsck", "sqlite-integrity", got string "ping"/);
  });

  it("names the place of a malformed JSON path", () => {
    const e = configError(withCheck(`{ name: c, type: http, url: "http://x", expect: ['$.ok == true', "$..handle == 'x'"] }`));
    expect(e.details.field).toBe("drill.checks[2].expect[1]");
    expect(e.message).toContain("restorable.yml: drill.checks[2].expect[1]: malformed JSON path at character 2: recursive descent");
  });

  it("names the place of an expectation without an operator", () => {
    const e = configError(withCheck(`{ name: c, type: http, url: "http://x", expect: ["$.handle alice"] }`));
    expect(e.details.field).toBe("drill.checks[2].expect[0]");
    expect(e.message).toContain("expected an operator");
  });

  it.each([
    ["{ name: c, type: sql, db: x, query: 'SELECT 1' }", "drill.checks[2].expect", "needs expect, rows or both"],
    ["{ name: c, type: sql, db: x, query: 'SELECT 1', expect: '>= x' }", "drill.checks[2].expect", "expected a JSON value"],
    ["{ name: c, type: command, run: [ls], shell: ls }", "drill.checks[2].run", "exactly one of run"],
    ["{ name: c, type: command, run: [x], stdout: '(' }", "drill.checks[2].stdout", "invalid regular expression"],
    ["{ name: c, type: file, path: x, mode: 'u-x' }", "drill.checks[2].mode", "may only require bits"],
    ["{ name: c, type: file, path: x, mode: '0955' }", "drill.checks[2].mode", "expected an octal mode"],
    ["{ name: c, type: file, path: x, sha256: abc }", "drill.checks[2].sha256", "64 hex digits"],
    ["{ name: c, type: http, url: 'http://x', timeout: 5m }", "drill.checks[2].timeout", 'write minutes as "min"'],
    ["{ name: c, type: http, url: 'http://${host}/' }", "drill.checks[2].url", "unknown variable ${host}"],
    ["{ name: a, type: file, path: z }", "drill.checks[2].name", 'two checks are named "a"'],
    ["{ name: c, type: file, path: x, colour: red }", "drill.checks[2].colour", "unknown key"],
  ])("rejects %s at %s", (check, field, message) => {
    const e = configError(withCheck(check));
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(message);
  });

  it.each([
    ["drill:\n  checks: []\n", "drill.checks", "at least 1"],
    ["drill:\n  env: { RESTORABLE_PASSWORD: x }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.env.RESTORABLE_PASSWORD", "never reach a drill"],
    ["drill:\n  pass-env: [AWS_SECRET_ACCESS_KEY]\n  checks: [{ name: a, type: file, path: x }]\n", "drill.pass-env[0]", "never reach a drill"],
    ["drill:\n  pass-env: [AWS*]\n  checks: [{ name: a, type: file, path: x }]\n", "drill.pass-env[0]", "never reach a drill"],
    ["drill:\n  pass-env: [RESTOR*]\n  checks: [{ name: a, type: file, path: x }]\n", "drill.pass-env[0]", "never reach a drill"],
    ["drill:\n  sandbox: kind\n  checks: [{ name: a, type: file, path: x }]\n", "drill.kind", "needs a kind: section"],
    ["drill:\n  sources: { pds: { path: ../outside } }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.sources.pds.path", "without '..'"],
    ["drill:\n  sources: { pds: { path: logs/x } }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.sources.pds.path", "sandbox's own folders"],
    ["drill:\n  app: { command: [x], ready: {} }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.app.ready", "exactly one readiness probe"],
    ["drill:\n  app: { command: [x], ready: { log: up, tcp: { port: 1 } } }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.app.ready", "exactly one readiness probe"],
    ["drill:\n  steps: [{ name: s, type: chmod, path: x }]\n  checks: [{ name: a, type: file, path: x }]\n", "drill.steps[0].mode", "needs mode, owner or both"],
    ["drill:\n  steps: [{ name: s, type: rsync, path: x }]\n  checks: [{ name: a, type: file, path: x }]\n", "drill.steps[0].type", 'expected one of "sql", "shell", "chmod"'],
    ["drill:\n  max-rto: soon\n  checks: [{ name: a, type: file, path: x }]\n", "drill.max-rto", "expected a duration"],
    ["drill:\n  sandbox: kind\n  kind: { claims: [{ name: data, source: pds }] }\n  checks: [{ name: a, type: file, path: x }]\n", "drill.kind.manifests", "exactly one of manifests"],
  ])("rejects %j at %s", (text, field, message) => {
    const e = configError(text);
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(message);
  });
});

describe("durations", () => {
  it.each([
    [30, 30_000],
    [0.5, 500],
    ["500ms", 500],
    ["30s", 30_000],
    ["5min", 300_000],
    ["1h30min", 5_400_000],
    ["26h", 93_600_000],
    ["7d", 604_800_000],
    ["1.5s", 1500],
  ])("%j = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["5m", "", "soon", "5 min", "-3s", "3sec"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });
});

describe("modes", () => {
  it("parses octal and symbolic modes and applies them like chmod", () => {
    expect(parseMode("0755")).toEqual({ kind: "exact", bits: 0o755 });
    expect(parseMode(755)).toEqual({ kind: "exact", bits: 0o755 });
    expect(applyMode(0o644, parseMode("+x"))).toBe(0o755);
    expect(applyMode(0o644, parseMode("u+x"))).toBe(0o744);
    expect(applyMode(0o777, parseMode("go-w"))).toBe(0o755);
    expect(applyMode(0o777, parseMode("u=rwx,g=rx,o="))).toBe(0o750);
    expect(applyMode(0o4755, parseMode("0644"))).toBe(0o644);
  });

  it("turns a check's mode into required bits", () => {
    expect(requiredBits(parseMode("0755"))).toEqual({ exact: 0o755 });
    expect(requiredBits(parseMode("u+x"))).toEqual({ has: 0o100 });
    expect(requiredBits(parseMode("+x"))).toEqual({ has: 0o111 });
    expect(() => requiredBits(parseMode("a-x"))).toThrow(/only require bits/);
    expect(() => parseMode("rwx")).toThrow(/octal mode/);
  });
});
