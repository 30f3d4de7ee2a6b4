/**
 * Listings: the per-file metadata of one source, as JSON lines (one
 * `ListingEntry` per line, in walk order), cut with content-defined chunking
 * (CDC_META) into tree blobs so unchanged stretches deduplicate between
 * snapshots. Chunk lists longer than INLINE_CHUNKS_MAX ids go into
 * chunk-list blobs of up to CHUNK_LIST_BLOB_IDS raw 32-byte ids.
 */
import { growBytes } from "../core/bytes.js";
import { fromHex, toHex } from "../core/crypto.js";
import { IntegrityError } from "../core/errors.js";
import { CDC_META, CdcChunker, makeGearTable } from "../core/fastcdc.js";
import { CHUNK_LIST_BLOB_IDS, INLINE_CHUNKS_MAX, type ListingEntry } from "../core/manifest.js";
import type { ChunkReader } from "./chunk-reader.js";
import type { PackSink } from "./pack-sink.js";

const enc = new TextEncoder();

/** Bytes of JSON lines gathered before they are fed to the chunker. */
const LISTING_BATCH_BYTES = 512 * 1024;

/**
 * Writes a listing as its entries come, so a source's metadata is never all in memory at once
 * (as objects, D1's 58,587 entries were about 30 MB of heap; a tree of a million files would be
 * half a gigabyte): each entry's JSON line is encoded at once into a reused batch of about 512 KiB,
 * which is fed to the CDC chunker when full, and each finished tree blob goes to the sink. (Gathered
 * as a string, the lines lived long enough to be promoted to V8's old generation: 15 MB of a D1
 * snapshot's garbage there.) CDC cuts depend only on the bytes, not on how they are fed, so the
 * blobs are those of the whole text at once.
 */
export class ListingWriter {
  private readonly chunker: CdcChunker;
  private readonly ids: string[] = [];
  /** The batch being gathered (`used` bytes), reused once fed: the chunker copies what it carries over. */
  private batch: Uint8Array;
  private used = 0;
  /** Entries added. */
  count = 0;

  /** @param batchBytes bytes gathered before feeding the chunker (tests use small values). */
  constructor(
    private readonly sink: PackSink,
    gearSeed: Uint8Array,
    private readonly batchBytes = LISTING_BATCH_BYTES,
  ) {
    this.chunker = new CdcChunker(CDC_META, makeGearTable(gearSeed));
    this.batch = new Uint8Array(Math.min(batchBytes, LISTING_BATCH_BYTES)); // grows (growBytes) when a batch is larger
  }

  /** Adds the next entry (walk order). Await it before the next call. @throws what the sink throws. */
  async add(entry: ListingEntry): Promise<void> {
    const line = JSON.stringify(entry) + "\n";
    this.batch = growBytes(this.batch, this.used + 3 * line.length, this.used); // UTF-8: at most 3 bytes per UTF-16 unit
    this.used += enc.encodeInto(line, this.batch.subarray(this.used)).written;
    this.count++;
    if (this.used >= this.batchBytes) await this.feed();
  }

  /** Stores the rest. @returns the tree blob ids (hex), in order. */
  async finish(): Promise<string[]> {
    await this.feed();
    await this.store(this.chunker.finish());
    return this.ids;
  }

  private async feed(): Promise<void> {
    if (this.used === 0) return;
    const bytes = this.batch.subarray(0, this.used);
    this.used = 0;
    await this.store(this.chunker.push(bytes));
  }

  /** Pieces alias the chunker's memory: each is copied before the next is stored. */
  private async store(pieces: Uint8Array[]): Promise<void> {
    for (const piece of pieces) this.ids.push(toHex(await this.sink.add(piece.slice(), 1)));
  }
}

/** Stores a listing and returns its tree blob ids (hex). */
export async function writeListing(sink: PackSink, gearSeed: Uint8Array, entries: readonly ListingEntry[]): Promise<string[]> {
  const writer = new ListingWriter(sink, gearSeed);
  for (const e of entries) await writer.add(e);
  return writer.finish();
}

/**
 * Reads a listing back.
 * @throws IntegrityError when a blob is missing or damaged or a line does not parse.
 */
export async function readListing(reader: ChunkReader, blobIds: readonly string[]): Promise<ListingEntry[]> {
  const out: ListingEntry[] = [];
  for await (const batch of listingBatches(reader, blobIds)) out.push(...batch);
  return out;
}

/**
 * A listing's entries a tree blob at a time, in order: a caller that looks at each entry once never
 * holds the listing whole, neither as objects (D1's 58,588 entries are about 30 MB of heap) nor as
 * text (15 MB). A line cut by a blob boundary is carried to the next blob (CDC cuts anywhere).
 * @throws IntegrityError when a blob is missing or damaged or a line does not parse.
 */
export async function* listingBatches(reader: ChunkReader, blobIds: readonly string[]): AsyncGenerator<ListingEntry[]> {
  let carry: Buffer | undefined;
  for (const id of blobIds) {
    const blob = await reader.read(id);
    const text = carry ? Buffer.concat([carry, blob]) : Buffer.from(blob.buffer, blob.byteOffset, blob.length);
    const end = text.lastIndexOf(10) + 1; // after the last whole line
    carry = end < text.length ? Buffer.from(text.subarray(end)) : undefined;
    if (end > 0) yield Array.from(linesOf(text.subarray(0, end)), ([entry]) => entry);
  }
  if (carry) yield Array.from(linesOf(carry), ([entry]) => entry);
}

/** Each line of a listing's text, parsed, with the byte offset where it starts. @throws IntegrityError on a line that does not parse. */
function* linesOf(text: Buffer): Generator<[ListingEntry, number]> {
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf(10, at);
    if (end < 0) end = text.length;
    if (end > at) yield [parseLine(text.toString("utf8", at, end)), at];
    at = end + 1;
  }
}

/**
 * A listing kept as its UTF-8 text, with the start of each kept entry's line by path, for lookups
 * one entry at a time (a snapshot asks its parent's listing about every file). As objects, D1's
 * 58,587 entries were about 30 MB of heap for the whole incremental snapshot; as text they are
 * about 15 MB, and each lookup parses one line.
 */
export class ListingLookup {
  private readonly lines = new Map<string, number>();

  private constructor(private readonly text: Buffer) {}

  /**
   * Reads a listing and indexes the entries `keep` accepts.
   * @throws IntegrityError when a blob is missing or damaged or a line does not parse.
   */
  static async read(reader: ChunkReader, blobIds: readonly string[], keep: (e: ListingEntry) => boolean): Promise<ListingLookup> {
    const lookup = new ListingLookup(await readListingBytes(reader, blobIds));
    for (const [e, at] of linesOf(lookup.text)) if (keep(e)) lookup.lines.set(e.p, at);
    return lookup;
  }

  /** Number of entries kept. */
  get size(): number {
    return this.lines.size;
  }

  /** The entry at `path`, parsed again on each call (a fresh object), or undefined. */
  get(path: string): ListingEntry | undefined {
    const at = this.lines.get(path);
    if (at === undefined) return undefined;
    const end = this.text.indexOf(10, at);
    return parseLine(this.text.toString("utf8", at, end < 0 ? this.text.length : end));
  }
}

/** A listing's tree blobs, end to end (UTF-8 JSON lines). @throws IntegrityError when a blob is missing or damaged. */
async function readListingBytes(reader: ChunkReader, blobIds: readonly string[]): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (const id of blobIds) parts.push(await reader.read(id));
  return Buffer.concat(parts);
}

function parseLine(line: string): ListingEntry {
  try {
    return JSON.parse(line) as ListingEntry;
  } catch (err) {
    throw new IntegrityError("listing line does not parse", {}, { cause: err });
  }
}

/**
 * Chunk ids of a file in a form for the listing: inline when short, else chunk-list blobs.
 * @param ids the ids in file order, 32 bytes each, end to end.
 */
export async function encodeChunkList(sink: PackSink, ids: Uint8Array): Promise<Pick<ListingEntry, "c" | "cl">> {
  const count = ids.length / 32;
  if (count <= INLINE_CHUNKS_MAX) return { c: Array.from({ length: count }, (_, i) => toHex(ids.subarray(i * 32, i * 32 + 32))) };
  const cl: string[] = [];
  for (let i = 0; i < count; i += CHUNK_LIST_BLOB_IDS) {
    cl.push(toHex(await sink.add(ids.subarray(i * 32, Math.min(count, i + CHUNK_LIST_BLOB_IDS) * 32), 1)));
  }
  return { cl };
}

/** The chunk ids (hex) of a file entry, resolving chunk-list blobs. */
export async function fileChunkIds(reader: ChunkReader, entry: ListingEntry): Promise<string[]> {
  if (entry.c) return [...entry.c];
  const bytes = await fileChunkIdBytes(reader, entry);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 32) out.push(toHex(bytes.subarray(i, i + 32)));
  return out;
}

/**
 * The chunk ids of a file entry as bytes (32 per chunk, in file order), resolving chunk-list blobs:
 * `fileChunkIds` without a string per chunk (a 480 MB database has 60,000-120,000 chunks).
 * @throws IntegrityError when a chunk-list blob has a bad length; what `ChunkReader.read` throws.
 */
export async function fileChunkIdBytes(reader: ChunkReader, entry: ListingEntry): Promise<Uint8Array> {
  if (entry.c) return fromHex(entry.c.join(""));
  const blobs: Uint8Array[] = [];
  for (const blobId of entry.cl ?? []) {
    const blob = await reader.read(blobId);
    if (blob.length % 32 !== 0) throw new IntegrityError(`chunk-list blob ${blobId} has a bad length`, { chunk: blobId });
    blobs.push(blob);
  }
  return blobs.length === 1 ? blobs[0]! : new Uint8Array(Buffer.concat(blobs));
}

/** Blob ids a file entry references directly (chunk-list blobs, or inline chunks). */
export function directRefs(entry: ListingEntry): string[] {
  return [...(entry.c ?? []), ...(entry.cl ?? [])];
}

