/**
 * The verify use case: structure of the selected snapshots, optionally every
 * byte they reference (`readData`, or a seeded subset of packs), and semantic
 * checks on a temporary restore (SQLite integrity_check, git fsck, JSON
 * parse). Names each damaged snapshot and file, and records the result as an
 * annotation on each snapshot checked (unless the store is read-only).
 */
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { toHex } from "../../core/crypto.js";
import { StoreError } from "../../core/errors.js";
import type { SnapshotManifest } from "../../core/manifest.js";
import { addAnnotation } from "../../repo/annotations.js";
import { ChunkReader } from "../../repo/chunk-reader.js";
import { fileChunkIds, readListing } from "../../repo/listing.js";
import type { Repository } from "../../repo/repository.js";
import { restore } from "../restore/restore.js";
import { makeWorkDir, sweepWorkDirs } from "../work-dir.js";
import { readData } from "./read-data.js";
import { semanticChecks, type SemanticResult } from "./semantic.js";
import { checkStructure, type Problem } from "./structure.js";

export interface VerifyOptions {
  /** Read and check every pack the snapshots use. */
  readonly readData?: boolean;
  /** Read only this percentage (0-100] of those packs, chosen by `seed`. */
  readonly readDataSubsetPercent?: number;
  readonly seed?: string;
  /** Restore each snapshot to a temporary folder and run SQLite, git and JSON checks. */
  readonly semantic?: boolean;
  /** Globs of JSON files that must parse (semantic checks). */
  readonly jsonFiles?: readonly string[];
  /** Record the result as annotations (default true; skipped on read-only stores). */
  readonly annotate?: boolean;
  readonly onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly level: "structure" | "read-data" | "read-data-subset";
  readonly snapshots: { readonly id: string; readonly ok: boolean; readonly problems: Problem[]; readonly semantic: SemanticResult[] }[];
  readonly packsRead: number;
  readonly bytesRead: number;
  readonly chunksChecked: number;
  readonly orphanPacks: string[];
  readonly annotated: boolean;
  readonly durationMs: number;
}

/**
 * Verifies `manifests`.
 * @returns a report; damage is reported, never thrown. Throws only when storage fails outright.
 */
export async function verify(repo: Repository, manifests: readonly SnapshotManifest[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const { index } = await repo.loadIndex();
  const structure = await checkStructure(repo, index, manifests);
  const problems: Problem[] = [...structure.problems];
  let packsRead = 0;
  let bytesRead = 0;
  let chunksChecked = 0;
  const level = options.readDataSubsetPercent !== undefined ? "read-data-subset" : options.readData ? "read-data" : "structure";
  if (level !== "structure") {
    const reader = new ChunkReader(repo, index);
    const used = await packsUsed(repo, reader, manifests);
    const chosen = level === "read-data-subset" ? subset(used, options.readDataSubsetPercent!, options.seed ?? String(Date.now())) : used;
    let done = 0;
    const report = await readData(repo, index, chosen, () => options.onProgress?.({ phase: "read-data", done: ++done, total: chosen.length }));
    packsRead = report.packsRead;
    bytesRead = report.bytesRead;
    chunksChecked = report.chunksChecked;
    problems.push(...report.problems);
    if (report.damagedChunks.size) problems.push(...(await nameDamagedFiles(reader, manifests, report.damagedChunks)));
  }
  const results: VerifyReport["snapshots"][number][] = [];
  if (options.semantic) await sweepWorkDirs(); // temporary restores a killed verify left behind
  for (const m of manifests) {
    const own = problems.filter((p) => p.snapshot === m.id || (!p.snapshot && !p.path));
    let semantic: SemanticResult[] = [];
    if (options.semantic && !own.some((p) => p.snapshot === m.id)) {
      const dir = await makeWorkDir("verify");
      try {
        await restore(repo, m, { target: join(dir, "r") });
        semantic = await semanticChecks(join(dir, "r"), m, options.jsonFiles ?? []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const semanticProblems = semantic.filter((s) => !s.ok).map((s) => ({ snapshot: m.id, path: s.path, message: `${s.check} failed: ${s.detail}` }));
    const all = [...own, ...semanticProblems];
    results.push({ id: m.id, ok: all.length === 0, problems: all, semantic });
  }
  const ok = results.every((r) => r.ok) && problems.length === 0;
  let annotated = false;
  if (options.annotate ?? true) {
    try {
      for (const r of results) {
        await addAnnotation(repo, r.id, {
          type: "verify", at: new Date().toISOString(), ok: r.ok, level: options.semantic ? `${level}+semantic` : level,
          summary: r.ok ? `verify ${level} passed` : `verify ${level} failed: ${r.problems[0]?.message ?? ""}`,
          details: { problems: r.problems.length, packsRead, bytesRead },
        });
      }
      annotated = true;
    } catch (err) {
      if (!(err instanceof StoreError && (err.details as { readOnly?: boolean }).readOnly)) throw err;
    }
  }
  return {
    ok, level, snapshots: results, packsRead, bytesRead, chunksChecked, orphanPacks: structure.orphanPacks, annotated,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Hex ids of every pack holding a blob the snapshots reference. */
async function packsUsed(repo: Repository, reader: ChunkReader, manifests: readonly SnapshotManifest[]): Promise<string[]> {
  const packs = new Set<string>();
  const add = (id: string): void => {
    const loc = reader.index.get(Buffer.from(id, "hex"));
    if (loc) packs.add(toHex(loc.packId));
  };
  await forEachFile(reader, manifests, async (_m, _s, e) => {
    for (const id of e.cl ?? []) add(id);
    for (const id of await fileChunkIds(reader, e).catch(() => [] as string[])) add(id);
  }, (listingId) => add(listingId));
  return [...packs].sort();
}

/** Maps damaged chunk ids back to the snapshots and files that use them. */
async function nameDamagedFiles(reader: ChunkReader, manifests: readonly SnapshotManifest[], damaged: Set<string>): Promise<Problem[]> {
  const out: Problem[] = [];
  await forEachFile(reader, manifests, async (m, source, e) => {
    const ids = [...(e.cl ?? []), ...(await fileChunkIds(reader, e).catch(() => [] as string[]))];
    const bad = ids.find((id) => damaged.has(id));
    if (bad) out.push({ snapshot: m.id, source, path: e.p, chunk: bad, message: `file ${source}/${e.p} has damaged data (chunk ${bad})` });
  }, (listingId, m, source) => {
    if (damaged.has(listingId)) out.push({ snapshot: m.id, source, chunk: listingId, message: `listing of source ${source} is damaged` });
  });
  return out;
}

async function forEachFile(
  reader: ChunkReader,
  manifests: readonly SnapshotManifest[],
  onFile: (m: SnapshotManifest, source: string, e: Awaited<ReturnType<typeof readListing>>[number]) => Promise<void>,
  onListingBlob: (id: string, m: SnapshotManifest, source: string) => void,
): Promise<void> {
  for (const m of manifests) {
    for (const s of m.sources) {
      s.listing.forEach((id) => onListingBlob(id, m, s.name));
      const entries = await readListing(reader, s.listing).catch(() => []);
      for (const e of entries) if (e.t === "f") await onFile(m, s.name, e);
    }
  }
}

/** A deterministic subset (by seed) of `items`: at least one when any. */
function subset(items: readonly string[], percent: number, seed: string): string[] {
  const n = Math.max(items.length ? 1 : 0, Math.round((items.length * percent) / 100));
  return [...items]
    .map((p) => [createHash("sha256").update(seed).update(p).digest("hex"), p] as const)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([, p]) => p);
}
