/**
 * Listings: the per-file metadata of one source, as JSON lines (one
 * `ListingEntry` per line, in walk order), cut with content-defined chunking
 * (CDC_META) into tree blobs so unchanged stretches deduplicate between
 * snapshots. Chunk lists longer than INLINE_CHUNKS_MAX ids go into
 * chunk-list blobs of up to CHUNK_LIST_BLOB_IDS raw 32-byte ids.
 */
import { toHex } from "../core/crypto.js";
import { IntegrityError } from "../core/errors.js";
import { CDC_META, CdcChunker, makeGearTable } from "../core/fastcdc.js";
import { CHUNK_LIST_BLOB_IDS, INLINE_CHUNKS_MAX, type ListingEntry } from "../core/manifest.js";
import type { ChunkReader } from "./chunk-reader.js";
import type { PackSink } from "./pack-sink.js";

const enc = new TextEncoder();

/** Stores a listing and returns its tree blob ids (hex). */
export async function writeListing(sink: PackSink, gearSeed: Uint8Array, entries: readonly ListingEntry[]): Promise<string[]> {
  const chunker = new CdcChunker(CDC_META, makeGearTable(gearSeed));
  const ids: string[] = [];
  const text = enc.encode(entries.map((e) => JSON.stringify(e)).join("\n") + (entries.length ? "\n" : ""));
  for (const piece of [...chunker.push(text), ...chunker.finish()]) ids.push(toHex(await sink.add(piece.slice(), 1)));
  return ids;
}

/**
 * Reads a listing back.
 * @throws IntegrityError when a blob is missing or damaged or a line does not parse.
 */
export async function readListing(reader: ChunkReader, blobIds: readonly string[]): Promise<ListingEntry[]> {
  const parts: Uint8Array[] = [];
  for (const id of blobIds) parts.push(await reader.read(id));
  const text = Buffer.concat(parts).toString("utf8");
  const out: ListingEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as ListingEntry);
    } catch (err) {
      throw new IntegrityError("listing line does not parse", {}, { cause: err });
    }
  }
  return out;
}

/** Chunk ids of a file in a form for the listing: inline when short, else chunk-list blobs. */
export async function encodeChunkList(sink: PackSink, ids: readonly Uint8Array[]): Promise<Pick<ListingEntry, "c" | "cl">> {
  if (ids.length <= INLINE_CHUNKS_MAX) return { c: ids.map(toHex) };
  const cl: string[] = [];
  for (let i = 0; i < ids.length; i += CHUNK_LIST_BLOB_IDS) {
    const part = ids.slice(i, i + CHUNK_LIST_BLOB_IDS);
    const blob = new Uint8Array(part.length * 32);
    part.forEach((id, j) => blob.set(id, j * 32));
    cl.push(toHex(await sink.add(blob, 1)));
  }
  return { cl };
}

/** The chunk ids (hex) of a file entry, resolving chunk-list blobs. */
export async function fileChunkIds(reader: ChunkReader, entry: ListingEntry): Promise<string[]> {
  if (entry.c) return [...entry.c];
  const out: string[] = [];
  for (const blobId of entry.cl ?? []) {
    const blob = await reader.read(blobId);
    if (blob.length % 32 !== 0) throw new IntegrityError(`chunk-list blob ${blobId} has a bad length`, { chunk: blobId });
    for (let i = 0; i < blob.length; i += 32) out.push(toHex(blob.subarray(i, i + 32)));
  }
  return out;
}

/** Blob ids a file entry references directly (chunk-list blobs, or inline chunks). */
export function directRefs(entry: ListingEntry): string[] {
  return [...(entry.c ?? []), ...(entry.cl ?? [])];
}

