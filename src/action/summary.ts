/**
 * Job summaries in GitHub-flavoured Markdown, written through
 * `core.summary.addRaw` (its `addTable` writes HTML; docs: "Adding a job
 * summary", and the @actions/core README).
 *
 * A summary is readable by anyone who can read the repository, while the
 * values a drill observes (query results, HTTP bodies, application output)
 * may hold private data. So every such value goes through `observed()`:
 * cut to `maxValue` characters, or replaced by `(redacted)` when the
 * `redact` input is set. Table cells are escaped (`|`, newlines, HTML).
 */
import * as core from "@actions/core";

/** How the summary treats observed values and logs. */
export interface SummaryPolicy {
  readonly redact: boolean;
  /** Longest observed value or excerpt shown, characters (0 = none). */
  readonly maxValue: number;
}

/** `text` cut to `max` characters, with `… (N more characters)` when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max))}… (${text.length - max} more characters)`;
}

/** An observed value or log excerpt as the summary may show it (see the module comment). */
export function observed(value: string | undefined, policy: SummaryPolicy): string {
  if (value === undefined || value === "") return "";
  if (policy.redact) return "(redacted)";
  if (policy.maxValue === 0) return "(hidden: summary-max-value is 0)";
  return truncate(value, policy.maxValue);
}

/** Escapes text for one Markdown table cell: HTML specials, `|`, backticks kept, newlines as `<br>`. */
export function cell(text: string | number | boolean): string {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, "<br>");
}

/** A Markdown table; every cell escaped with `cell()`. `align` gives `r` for right-aligned columns. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number | boolean)[])[], align: string = ""): string {
  const sep = headers.map((_, i) => (align[i] === "r" ? "---:" : "---"));
  const line = (cells: readonly (string | number | boolean)[]): string => `| ${cells.map(cell).join(" | ")} |`;
  return [line(headers), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Bytes as B, KiB, MiB, GiB (binary units, as the CLI prints them). */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Milliseconds as `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - h * 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `✅ pass` / `❌ fail` / `⏭️ skipped`. */
export function status(ok: boolean | "skipped"): string {
  return ok === "skipped" ? "⏭️ skipped" : ok ? "✅ pass" : "❌ fail";
}

/**
 * Appends `markdown` to the job summary file (GITHUB_STEP_SUMMARY) through `core.summary.addRaw`.
 * Does nothing when the runner gives no summary file (act, local runs): the summary is not required for the result.
 */
export async function writeSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env.GITHUB_STEP_SUMMARY) return false;
  await core.summary.addRaw(markdown.endsWith("\n") ? markdown : `${markdown}\n`).write();
  core.summary.emptyBuffer();
  return true;
}
