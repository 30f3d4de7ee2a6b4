/**
 * The repository's history for job summaries: snapshot sizes and drill RTO
 * over time, as Mermaid `xychart-beta` charts (docs: mermaid.js.org,
 * "XY Chart"; GitHub renders ```mermaid blocks in Markdown, job summaries
 * included). Sizes come from the manifests, RTO from the newest drill
 * annotation of each snapshot (`details.rtoMs`).
 */
import { mapLimit } from "../core/concurrency.js";
import { listAnnotations, latestOf } from "../repo/annotations.js";
import type { Repository } from "../repo/repository.js";

/** One snapshot on the charts. */
export interface HistoryPoint {
  readonly id: string;
  /** ISO 8601. */
  readonly time: string;
  /** Size of the snapshot's files, bytes. */
  readonly bytes: number;
  /** Stored bytes the snapshot added, bytes. */
  readonly bytesAdded: number;
  /** RTO of the newest drill of this snapshot, ms; undefined when never drilled. */
  readonly drillRtoMs?: number;
  readonly drillOk?: boolean;
}

/** Number of snapshots charted (the newest). */
export const HISTORY_LIMIT = 30;

/**
 * The newest `limit` snapshots with their drill results, oldest first.
 * Reads `limit` manifests and the annotations; a damaged annotation is skipped.
 */
export async function loadHistory(repo: Repository, limit = HISTORY_LIMIT): Promise<HistoryPoint[]> {
  const ids = (await repo.listSnapshotIds()).slice(-limit);
  const [manifests, annotations] = await Promise.all([mapLimit(ids, 8, (id) => repo.loadManifest(id)), listAnnotations(repo)]);
  return manifests.map((m) => {
    const drill = latestOf(annotations.bySnapshot.get(m.id), "drill");
    const rto = drill?.details?.rtoMs;
    return {
      id: m.id, time: m.time, bytes: m.stats.bytes, bytesAdded: m.stats.bytesAdded,
      ...(typeof rto === "number" ? { drillRtoMs: rto } : {}),
      ...(drill ? { drillOk: drill.ok ?? false } : {}),
    };
  });
}

/** A unit that keeps the largest value readable. */
function sizeUnit(max: number): { name: string; div: number } {
  if (max >= 2 ** 30) return { name: "GiB", div: 2 ** 30 };
  if (max >= 2 ** 20) return { name: "MiB", div: 2 ** 20 };
  if (max >= 2 ** 10) return { name: "KiB", div: 2 ** 10 };
  return { name: "bytes", div: 1 };
}

const round = (v: number): number => Math.round(v * 100) / 100;
/** `MM-DD HH:MM` (UTC): short enough for an axis label. */
const label = (iso: string): string => JSON.stringify(iso.slice(5, 16).replace("T", " "));

/**
 * Markdown with the charts, or a sentence when there is nothing to chart.
 * Chart 1: snapshot size (bars) and bytes added (line); chart 2: drill RTO in seconds for drilled snapshots.
 */
export function historyMarkdown(points: readonly HistoryPoint[]): string {
  if (points.length === 0) return "_No snapshots yet._\n";
  const unit = sizeUnit(Math.max(...points.map((p) => p.bytes)));
  const out = [
    "```mermaid",
    "xychart-beta",
    `  title "Snapshot size (bars) and data added (line), ${unit.name}"`,
    `  x-axis [${points.map((p) => label(p.time)).join(", ")}]`,
    `  y-axis "${unit.name}"`,
    `  bar [${points.map((p) => round(p.bytes / unit.div)).join(", ")}]`,
    `  line [${points.map((p) => round(p.bytesAdded / unit.div)).join(", ")}]`,
    "```",
  ];
  const drilled = points.filter((p) => p.drillRtoMs !== undefined);
  if (drilled.length === 0) {
    out.push("", "_No restore drill recorded on these snapshots yet: RTO appears here after the first drill._");
  } else {
    out.push(
      "",
      "```mermaid",
      "xychart-beta",
      '  title "Restore drill RTO, seconds"',
      `  x-axis [${drilled.map((p) => label(p.time)).join(", ")}]`,
      '  y-axis "seconds"',
      `  line [${drilled.map((p) => round(p.drillRtoMs! / 1000)).join(", ")}]`,
      "```",
    );
  }
  return out.join("\n") + "\n";
}

/**
 * The "Repository history" section of a summary. Never throws: a history that cannot be read (a damaged
 * annotation store, a read-only credential without list rights) is reported in one line instead.
 */
export async function historySection(repo: Repository): Promise<string> {
  let body: string;
  try {
    body = historyMarkdown(await loadHistory(repo));
  } catch (err) {
    body = `_History unavailable: ${(err as Error).message}_\n`;
  }
  return `\n### Repository history (newest ${HISTORY_LIMIT} snapshots)\n\n${body}`;
}
