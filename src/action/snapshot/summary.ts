/**
 * The snapshot action's outputs and job summary: one row per source (files,
 * size, bytes read, duration, rate) and the totals, with the bytes the
 * snapshot added to the repository (after deduplication and compression;
 * measured for the whole snapshot, since a chunk shared by two sources is
 * stored once), then the repository's history.
 */
import type { SnapshotProgress, SnapshotResult } from "../../ops/snapshot/snapshot.js";
import type { Outputs } from "../outputs.js";
import { bytes, duration, table } from "../summary.js";

/** Per-source counters collected from the snapshot's progress callbacks (the op reports running totals). */
export class SourceCounters {
  readonly bySource = new Map<string, { files: number; bytesRead: number }>();
  private last = { files: 0, bytesRead: 0 };

  /** Feed `onProgress` here. */
  readonly onProgress = (p: SnapshotProgress): void => {
    const c = this.bySource.get(p.source) ?? { files: 0, bytesRead: 0 };
    c.files += p.files - this.last.files;
    c.bytesRead += p.bytesRead - this.last.bytesRead;
    this.bySource.set(p.source, c);
    this.last = { files: p.files, bytesRead: p.bytesRead };
  };
}

/** The step outputs. */
export function snapshotOutputs(result: SnapshotResult): Outputs {
  const m = result.manifest;
  return {
    "snapshot-id": m.id, "snapshot-time": m.time, files: m.stats.files, bytes: m.stats.bytes,
    "bytes-read": m.stats.bytesRead, "bytes-added": m.stats.bytesAdded, verified: result.checked, "duration-ms": m.stats.durationMs,
  };
}

const rate = (n: number, ms: number): string => (ms > 0 ? `${bytes((n * 1000) / ms)}/s` : "-");

/** The summary's Markdown (without the history section). */
export function snapshotMarkdown(result: SnapshotResult, counters: SourceCounters, location: string): string {
  const m = result.manifest;
  const s = m.stats;
  const rows = m.sources.map((src) => {
    const c = counters.bySource.get(src.name) ?? { files: 0, bytesRead: 0 };
    const ms = src.finishedAt - src.startedAt;
    const kind = `${src.kind}${src.databases.length ? `, ${src.databases.length} SQLite` : ""}`;
    return [src.name, kind, c.files, bytes(src.bytes), bytes(c.bytesRead), "-", duration(ms), rate(c.bytesRead, ms)];
  });
  rows.push(["**total**", "", s.files, bytes(s.bytes), bytes(s.bytesRead), bytes(s.bytesAdded), duration(s.durationMs), rate(s.bytesRead, s.durationMs)]);
  return [
    `## restorable snapshot ${result.checked ? "✅" : "❌"} \`${m.id}\``,
    "",
    `Repository \`${location}\`, host \`${m.host}\`${m.tags.length ? `, tags ${m.tags.map((t) => `\`${t}\``).join(" ")}` : ""}${m.parent ? `, parent \`${m.parent}\`` : ""}.`,
    "",
    table(["source", "kind", "files", "size", "bytes read", "bytes added", "duration", "rate"], rows, "llrrrrrr"),
    "",
    "Bytes added are counted for the whole snapshot (a chunk two sources share is stored once), after deduplication and compression.",
    `Structure check after commit: ${result.checked ? "✅ ok" : "❌ **failed**: run the verify action"}.` +
      (result.warnings.length ? ` ${result.warnings.length} warning(s) (see the log).` : ""),
    "",
  ].join("\n");
}
