import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMode, table } from "../../src/cli/format.js";
import { plainProgress } from "../../src/cli/progress.js";
import { describeError } from "../../src/cli/errors.js";
import { IntegrityError, WrongKeyError } from "../../src/core/errors.js";

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

describe("CLI formatting", () => {
  it("formats sizes, durations and modes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1017.91)).toBe("1018 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4m05s");
    expect(formatMode("dir", 0o755)).toBe("drwxr-xr-x");
    expect(formatMode("file", 0o4755)).toBe("-rwsr-xr-x");
    expect(formatMode("file", 0o1644)).toBe("-rw-r--r-T");
    expect(formatMode("symlink", 0o777)).toBe("lrwxrwxrwx");
  });

  it("aligns tables", () => {
    expect(table(["A", "N"], [["xx", "1"], ["y", "100"]], [1])).toEqual(["A     N", "xx    1", "y   100"]);
  });
});

describe("plain progress", () => {
  it("prints at most one line per interval, and one at the end", () => {
    let t = 0;
    const { stream, lines } = sink();
    const p = plainProgress({ label: "restore", stream, totalBytes: 1000, intervalMs: 5000, now: () => t });
    for (let i = 1; i <= 100; i++) {
      t = i * 100; // 10 s in total
      p.update({ files: i, bytes: i * 5 });
    }
    p.stop();
    p.stop();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^restore: 50 files, 250 B of 1000 B, 50 B\/s, ETA 15\.0 s$/);
    expect(lines[2]).toMatch(/^restore: 100 files, 500 B of 1000 B, 50 B\/s, ETA 10\.0 s, done in 10\.0 s$/);
  });

  it("counts without bytes when told, with an ETA from the count total", () => {
    let t = 0;
    const { stream, lines } = sink();
    const p = plainProgress({ label: "verify", stream, unit: "packs read", bytes: false, intervalMs: 1000, now: () => t });
    t = 2000;
    p.update({ files: 1, bytes: 0, totalFiles: 4 });
    p.stop();
    expect(lines[0]).toBe("verify: 1 of 4 packs read, ETA 6.0 s");
  });
});

describe("error reporting", () => {
  it("maps typed errors to their exit codes and others to 1", () => {
    expect(describeError(new WrongKeyError()).exitCode).toBe(5);
    const d = describeError(new IntegrityError("bad", { path: "x" }));
    expect(d).toMatchObject({ exitCode: 7, doc: { error: { code: "INTEGRITY", message: "bad", details: { path: "x" } } } });
    const u = describeError(new TypeError("boom"));
    expect(u.exitCode).toBe(1);
    expect(u.doc.error.code).toBe("UNEXPECTED");
    expect(u.message).toMatch(/RESTORABLE_DEBUG=1/);
  });
});
