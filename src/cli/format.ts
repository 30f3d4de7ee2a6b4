/** Human formatting for the CLI: sizes (IEC units), durations, modes, tables. */

/** `1536` -> `1.5 KiB`; whole bytes below 1 KiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** A duration in ms as `850 ms`, `12.3 s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** `ls -l` style mode: type letter and rwx triplets with setuid/setgid/sticky (`drwxr-xr-x`, `-rwsr-xr-x`). */
export function formatMode(type: "file" | "dir" | "symlink", mode: number): string {
  const t = type === "dir" ? "d" : type === "symlink" ? "l" : "-";
  const bit = (mask: number, ch: string): string => (mode & mask ? ch : "-");
  const x = (mask: number, special: number, on: string, off: string): string => (mode & special ? (mode & mask ? on : off) : bit(mask, "x"));
  return (
    t +
    bit(0o400, "r") + bit(0o200, "w") + x(0o100, 0o4000, "s", "S") +
    bit(0o040, "r") + bit(0o020, "w") + x(0o010, 0o2000, "s", "S") +
    bit(0o004, "r") + bit(0o002, "w") + x(0o001, 0o1000, "t", "T")
  );
}

/** An ISO time without milliseconds, for tables: `2026-11-22T02:44:36Z`. */
export function shortTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "Z");
}

/**
 * A plain-text table: a header row, then rows, columns padded with two spaces between them.
 * Columns listed in `right` are right-aligned (numbers).
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)];
}
