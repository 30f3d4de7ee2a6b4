import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configRepository, formatConfigPath, loadConfig, parseConfigText } from "../../src/config/load.js";
import { configSourceSpecs, defaultSourceName, pathSourceSpecs } from "../../src/config/sources.js";
import { ConfigError, SourceError } from "../../src/core/errors.js";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const FULL = `
repository: ./backup
tags: [daily]
sources:
  - name: pds
    type: directory
    path: /pds
    include: ["**/*.sqlite"]
    exclude: ["**/cache/**"]
    sqlite: auto
  - type: sqlite
    path: data/app.sqlite
  - type: command
    name: pgdump
    command: [pg_dump, -Fc, app]
    filename: app.dump
hooks: { pre: "sh -c 'true'", post: "true" }
env: [PGHOST, PGUSER, "PG*"]
verify: { json: ["**/*.json"] }
`;

describe("parseConfigText", () => {
  it("accepts the documented shape", () => {
    const c = parseConfigText(FULL, "restorable.yml");
    expect(c.repository).toBe("./backup");
    expect(c.sources).toHaveLength(3);
    expect(c.sources?.[2]).toEqual({ type: "command", name: "pgdump", command: ["pg_dump", "-Fc", "app"], filename: "app.dump" });
    expect(c.env).toEqual(["PGHOST", "PGUSER", "PG*"]);
    expect(c.verify?.json).toEqual(["**/*.json"]);
  });

  it("treats an empty file as no settings and a source without type as a directory", () => {
    expect(parseConfigText("", "r.yml")).toEqual({});
    expect(parseConfigText("sources:\n  - path: /x\n", "r.yml").sources).toEqual([{ type: "directory", path: "/x" }]);
  });

  it("names the file and the path of an unknown key", () => {
    const e = configError(() => parseConfigText("sources:\n  - path: /x\n    exlude: [a]\n", "restorable.yml"));
    expect(e.message).toBe("restorable.yml: sources[0].exlude: unknown key");
    expect(e.details.field).toBe("sources[0].exlude");
    expect(configError(() => parseConfigText("backups: {}\n", "restorable.yml")).message).toBe("restorable.yml: backups: unknown key");
    expect(configError(() => parseConfigText("retention:\n  keep-daily: -1\n", "restorable.yml")).message).toMatch(/^restorable\.yml: retention\.keep-daily: /);
    expect(configError(() => parseConfigText("retention:\n  keep-within: 7 days\n", "restorable.yml")).message).toMatch(/^restorable\.yml: retention\.keep-within: expected a duration/);
    expect(parseConfigText("retention:\n  keep-daily: 7\n  keep-weekly: 4\n  keep-monthly: 6\n", "restorable.yml").retention).toEqual({ "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 });
  });

  it("names the path of a value of the wrong type", () => {
    const e = configError(() => parseConfigText("sources:\n  - path: /a\n  - path: 5\n", "restorable.yml"));
    expect(e.message).toBe("restorable.yml: sources[1].path: expected a string, got number 5");
    expect(configError(() => parseConfigText("sources:\n  - type: sqlite\n", "f.yml")).message).toBe("f.yml: sources[0].path: required (expected a string)");
    expect(configError(() => parseConfigText("sources:\n  - type: tape\n    path: /a\n", "f.yml")).message).toMatch(/^f\.yml: sources\[0\]\.type: expected one of "directory", "sqlite", "command", got string "tape"$/);
    expect(configError(() => parseConfigText("sources:\n  - path: /a\n    sqlite: always\n", "f.yml")).message).toMatch(/^f\.yml: sources\[0\]\.sqlite: expected one of "auto", "never"/);
    expect(configError(() => parseConfigText("sources: []\n", "f.yml")).message).toBe("f.yml: sources: expected at least 1 item(s)");
    expect(configError(() => parseConfigText("tags: daily\n", "f.yml")).message).toBe('f.yml: tags: expected a list, got string "daily"');
    expect(configError(() => parseConfigText("sources:\n  - type: command\n    command: []\n", "f.yml")).message).toBe("f.yml: sources[0].command: expected at least 1 item(s)");
  });

  it("rejects names that are not one safe path segment", () => {
    for (const name of ["a/b", "..", "with space", ""]) {
      const e = configError(() => parseConfigText(`sources:\n  - path: /a\n    name: ${JSON.stringify(name)}\n`, "f.yml"));
      expect(e.message).toMatch(/^f\.yml: sources\[0\]\.name: /);
    }
    expect(configError(() => parseConfigText("env: [NOT-A-NAME]\n", "f.yml")).message).toMatch(/^f\.yml: env\[0\]: expected an environment variable name/);
  });

  it("reports YAML syntax errors with line and column", () => {
    const e = configError(() => parseConfigText("sources:\n  - path: [a\n", "restorable.yml"));
    expect(e.message).toMatch(/^restorable\.yml: line \d+, column \d+: YAML syntax error: /);
    const dup = configError(() => parseConfigText("tags: [a]\ntags: [b]\n", "restorable.yml"));
    expect(dup.message).toBe("restorable.yml: line 2, column 1: YAML syntax error: Map keys must be unique");
  });

  it("formats paths", () => {
    expect(formatConfigPath(["sources", 1, "path"])).toBe("sources[1].path");
    expect(formatConfigPath([])).toBe("(top level)");
  });
});

describe("loading and converting to SourceSpec", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "restorable-config-"));
    await mkdir(join(dir, "etc"));
    await mkdir(join(dir, "data"));
    await writeFile(join(dir, "data", "plain.txt"), "not a database");
    await writeFile(join(dir, "data", "db.sqlite"), Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), Buffer.alloc(100)]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves relative paths against the file's folder", async () => {
    await writeFile(join(dir, "etc", "restorable.yml"), FULL);
    const loaded = await loadConfig("etc/restorable.yml", dir);
    expect(configRepository(loaded)).toBe(join(dir, "etc", "backup"));
    const specs = configSourceSpecs(loaded);
    expect(specs).toEqual([
      { kind: "directory", name: "pds", path: "/pds", include: ["**/*.sqlite"], exclude: ["**/cache/**"], sqlite: "auto" },
      { kind: "sqlite", name: "app.sqlite", path: join(dir, "etc", "data", "app.sqlite") },
      { kind: "command", name: "pgdump", command: ["pg_dump", "-Fc", "app"], filename: "app.dump" },
    ]);
  });

  it("keeps URL repositories as they are", async () => {
    await writeFile(join(dir, "s3.yml"), "repository: s3://bucket/prefix\n");
    expect(configRepository(await loadConfig("s3.yml", dir))).toBe("s3://bucket/prefix");
  });

  it("refuses duplicate source names and a file without sources, naming the field", async () => {
    await writeFile(join(dir, "dup.yml"), "sources:\n  - path: /a/x\n  - path: /b/x\n");
    const e = await loadConfig("dup.yml", dir).then(configSourceSpecs).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/^dup\.yml: sources\[1\]\.name: two sources are named "x"/);
    await writeFile(join(dir, "none.yml"), "tags: [a]\n");
    const n = await loadConfig("none.yml", dir).then(configSourceSpecs).catch((err: unknown) => err);
    expect((n as Error).message).toMatch(/^none\.yml: sources: required/);
  });

  it("names a missing file", async () => {
    await expect(loadConfig("missing.yml", dir)).rejects.toThrow(/^missing\.yml: cannot read the configuration file \(it does not exist\)$/);
  });

  it("maps command-line paths: folder -> directory, SQLite file -> sqlite, missing -> SourceError", async () => {
    const specs = await pathSourceSpecs(["data", "data/db.sqlite"], dir);
    expect(specs).toEqual([
      { kind: "directory", name: "data", path: join(dir, "data") },
      { kind: "sqlite", name: "db.sqlite", path: join(dir, "data", "db.sqlite") },
    ]);
    await expect(pathSourceSpecs(["nope"], dir)).rejects.toBeInstanceOf(SourceError);
    await expect(pathSourceSpecs(["data/plain.txt"], dir)).rejects.toThrow(/not a folder nor a SQLite database/);
  });

  it("derives safe default names", () => {
    expect(defaultSourceName("/srv/my data/")).toBe("my_data");
    expect(defaultSourceName("/")).toBe("root");
    expect(defaultSourceName("/x/app.sqlite")).toBe("app.sqlite");
  });
});
