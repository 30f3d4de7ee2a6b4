/**
 * Index files: which chunks each pack holds, so a backup can deduplicate and
 * a restore can find chunks without reading pack headers. Append-only; prune
 * writes replacements that list the files they supersede.
 *
 * Format (format v1, docs/format.md; integers little-endian):
 *   file = seal(encKey, body?)   body? = zstd(body) from 16 KiB on, else body (compress.ts packBody)
 *   body = "RSTIDX01" || u32 packCount || packCount x packId(32)
 *          || u32 entryCount || entryCount x entry(57)
 *          || u32 supersedesCount || supersedesCount x (u8 len || ASCII name)
 *   entry = chunkId(32) || kind(u8) || packIndex(u32) || frameOffset(u32)
 *           || frameLength(u32) || innerOffset(u32) || length(u32)
 *
 * The in-memory index lives in chunk-index.ts and is re-exported here.
 */
import { ByteReader, U32_MAX, bytesEqual, freeNow, getU32, putU32 } from "./bytes.js";
import { packBody, unpackBody } from "./compress.js";
import { SEAL_OVERHEAD, open, seal, toHex } from "./crypto.js";
import { IntegrityError } from "./errors.js";
import type { PackEntries, PackEntry } from "./pack.js";

import type { ChunkFields } from "./chunk-index.js";

export { ChunkIndex, type ChunkFields, type ChunkLocation } from "./chunk-index.js";

/** Magic at the start of an index body. */
export const INDEX_MAGIC = "RSTIDX01";
/** Bytes per index entry. */
export const INDEX_ENTRY_BYTES = 53;
/** Bound on a decompressed index body (bytes): about 18 million entries. */
export const MAX_INDEX_BODY = 1024 * 1024 * 1024;

const MAGIC_BYTES = new TextEncoder().encode(INDEX_MAGIC);

/** Contents of one index file. */
export interface IndexFileContents {
  /** Packs with their entries; a pack id appears at most once. */
  packs: { packId: Uint8Array; entries: PackEntries }[];
  /** Names of index files this one replaces (prune), ASCII, 1-255 characters, no `/`. */
  supersedes: string[];
}

/** An index file as `decodeIndexFile` returns it: entries as objects. */
export interface DecodedIndexFile extends IndexFileContents {
  packs: { packId: Uint8Array; entries: PackEntry[] }[];
}

const NAME_RE = /^[\x21-\x2e\x30-\x7e]{1,255}$/;
const ENTRY_U32_FIELDS = ["frameOffset", "frameLength", "innerOffset", "length"] as const;
/** Names entry `ei` of pack `pi` in encodeIndexFile's errors (built only for a wrong entry). */
const entryName = (pi: number, ei: number): string => `packs[${pi}].entries[${ei}]`;

/**
 * Serializes, compresses (zstd) and seals an index file.
 * @throws RangeError on malformed input (ids not 32 bytes, a pack listed twice,
 *   kind not 0/1, a field outside u32, a bad supersedes name) — programming errors.
 */
export function encodeIndexFile(encKey: Uint8Array, contents: IndexFileContents): Uint8Array {
  const { packs, supersedes } = contents;
  let entryCount = 0;
  const seen = new Set<string>();
  for (const [i, p] of packs.entries()) {
    if (p.packId.length !== 32) throw new RangeError(`encodeIndexFile: packs[${i}].packId must be 32 bytes, got ${p.packId.length}`);
    const hex = toHex(p.packId);
    if (seen.has(hex)) throw new RangeError(`encodeIndexFile: pack ${hex} is listed twice`);
    seen.add(hex);
    entryCount += p.entries.length;
  }
  let namesBytes = 0;
  for (const [i, name] of supersedes.entries()) {
    if (!NAME_RE.test(name)) throw new RangeError(`encodeIndexFile: supersedes[${i}] must be 1-255 printable ASCII characters without "/" or spaces, got ${JSON.stringify(name)}`);
    namesBytes += 1 + name.length;
  }
  const body = new Uint8Array(8 + 4 + 32 * packs.length + 4 + INDEX_ENTRY_BYTES * entryCount + 4 + namesBytes);
  body.set(MAGIC_BYTES, 0);
  let o = 8;
  putU32(body, o, packs.length);
  o += 4;
  for (const p of packs) {
    body.set(p.packId, o);
    o += 32;
  }
  putU32(body, o, entryCount);
  o += 4;
  for (const [pi, p] of packs.entries()) {
    let ei = -1;
    for (const e of p.entries) {
      ei++;
      if (e.id.length !== 32) throw new RangeError(`encodeIndexFile: ${entryName(pi, ei)}.id must be 32 bytes, got ${e.id.length}`);
      if (e.kind !== 0 && e.kind !== 1) throw new RangeError(`encodeIndexFile: ${entryName(pi, ei)}.kind must be 0 or 1, got ${String(e.kind)}`);
      for (const f of ENTRY_U32_FIELDS) {
        const v = e[f];
        if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`encodeIndexFile: ${entryName(pi, ei)}.${f} must be a u32, got ${v}`);
      }
      body.set(e.id, o);
      body[o + 32] = e.kind;
      putU32(body, o + 33, pi);
      putU32(body, o + 37, e.frameOffset);
      putU32(body, o + 41, e.frameLength);
      putU32(body, o + 45, e.innerOffset);
      putU32(body, o + 49, e.length);
      o += INDEX_ENTRY_BYTES;
    }
  }
  putU32(body, o, supersedes.length);
  o += 4;
  for (const name of supersedes) {
    body[o++] = name.length;
    for (let i = 0; i < name.length; i++) body[o++] = name.charCodeAt(i);
  }
  const packed = packBody(body);
  if (packed !== body) freeNow(body); // compressed: only the sealed copy is needed now
  return seal(encKey, packed);
}

/** Receives an index file's contents as `visitIndexFile` reads them. */
export interface IndexVisitor {
  /** Each pack id, in file order, before any entry (`packId` is a copy the visitor may keep). */
  pack(packId: Uint8Array): void;
  /**
   * Each entry, in file order. `id` is a view into the decoded body and `fields` an object reused
   * for every entry: copy what you keep.
   */
  entry(packIndex: number, id: Uint8Array, fields: Readonly<ChunkFields>): void;
}

/**
 * Opens, decompresses and parses an index file, handing packs and entries to
 * `visitor` without an object per entry (an index of a million chunks is read
 * straight into a ChunkIndex).
 * @param what names the file in error messages (e.g. its key).
 * @returns the names of the index files it supersedes.
 * @throws IntegrityError on authentication failure, bad zstd, bad magic,
 *   truncation or trailing bytes, a pack listed twice, an entry naming a pack
 *   index out of range, an unknown kind, a frame shorter than a sealed message,
 *   or a bad supersedes name. Authentication comes first, so a file that fails
 *   it reaches the visitor not at all; a structural error after it may come
 *   after some entries were visited.
 */
export function visitIndexFile(encKey: Uint8Array, bytes: Uint8Array, visitor: IndexVisitor, what = "index file"): string[] {
  let body: Uint8Array;
  try {
    body = unpackBody(open(encKey, bytes), MAX_INDEX_BODY);
  } catch (err) {
    if (err instanceof IntegrityError) throw new IntegrityError(`${what}: ${err.message}`, { object: what }, { cause: err });
    throw err;
  }
  const fail = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new IntegrityError(`${what}: ${msg}`, { object: what, ...details });
  };
  const r = new ByteReader(body, what);
  if (!bytesEqual(r.bytes(8, "magic"), MAGIC_BYTES)) fail(`bad magic (expected "${INDEX_MAGIC}")`);
  const packCount = r.u32("packCount");
  if (packCount * 32 > r.remaining) fail(`packCount ${packCount} exceeds the ${r.remaining} bytes left`);
  const seen = new Set<string>();
  for (let i = 0; i < packCount; i++) {
    const packId = r.copy(32, `packId ${i}`);
    const hex = toHex(packId);
    if (seen.has(hex)) fail(`pack ${hex} is listed twice`, { packId: hex });
    seen.add(hex);
    visitor.pack(packId);
  }
  const entryCount = r.u32("entryCount");
  if (entryCount * INDEX_ENTRY_BYTES > r.remaining) fail(`entryCount ${entryCount} exceeds the ${r.remaining} bytes left`);
  // Bounds were checked above for all entries at once: read them without a label per field.
  const table = r.bytes(entryCount * INDEX_ENTRY_BYTES, "entries");
  const fields = { kind: 0 as 0 | 1, frameOffset: 0, frameLength: 0, innerOffset: 0, length: 0 };
  for (let i = 0, o = 0; i < entryCount; i++, o += INDEX_ENTRY_BYTES) {
    const kind = table[o + 32]!;
    const packIndex = getU32(table, o + 33);
    fields.frameOffset = getU32(table, o + 37);
    fields.frameLength = getU32(table, o + 41);
    fields.innerOffset = getU32(table, o + 45);
    fields.length = getU32(table, o + 49);
    if (kind !== 0 && kind !== 1) fail(`entry ${i} has kind ${kind} (expected 0 data or 1 tree)`, { entry: i });
    fields.kind = kind as 0 | 1;
    if (fields.frameLength < SEAL_OVERHEAD + 1) fail(`entry ${i} frameLength ${fields.frameLength} is below the minimum ${SEAL_OVERHEAD + 1}`, { entry: i });
    if (packIndex >= packCount) fail(`entry ${i} names pack index ${packIndex}, but the file lists ${packCount} packs`, { entry: i });
    visitor.entry(packIndex, table.subarray(o, o + 32), fields);
  }
  const supersedesCount = r.u32("supersedesCount");
  const supersedes: string[] = [];
  for (let i = 0; i < supersedesCount; i++) {
    const len = r.u8(`supersedes ${i} length`);
    const name = String.fromCharCode(...r.bytes(len, `supersedes ${i} name`));
    if (!NAME_RE.test(name)) fail(`supersedes ${i} is not a valid index file name: ${JSON.stringify(name)}`);
    supersedes.push(name);
  }
  r.end();
  return supersedes;
}

/**
 * Opens, decompresses and parses an index file into objects (see `visitIndexFile`).
 * @param what names the file in error messages (e.g. its key).
 * @returns packs in file order, each with its entries in file order.
 * @throws IntegrityError as `visitIndexFile`.
 */
export function decodeIndexFile(encKey: Uint8Array, bytes: Uint8Array, what = "index file"): DecodedIndexFile {
  const packs: DecodedIndexFile["packs"] = [];
  const supersedes = visitIndexFile(encKey, bytes, {
    pack: (packId) => packs.push({ packId, entries: [] }),
    entry: (packIndex, id, f) => packs[packIndex]!.entries.push({ id: id.slice(), kind: f.kind, frameOffset: f.frameOffset, frameLength: f.frameLength, innerOffset: f.innerOffset, length: f.length }),
  }, what);
  return { packs, supersedes };
}
