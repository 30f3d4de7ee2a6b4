/**
 * Index files: which chunks each pack holds, so a backup can deduplicate and
 * a restore can find chunks without reading pack headers. Append-only; prune
 * writes replacements that list the files they supersede.
 *
 * Format (format v1, docs/format.md; integers little-endian):
 *   file = seal(encKey, zstd(body))
 *   body = "RSTIDX01" || u32 packCount || packCount x packId(32)
 *          || u32 entryCount || entryCount x entry(57)
 *          || u32 supersedesCount || supersedesCount x (u8 len || ASCII name)
 *   entry = chunkId(32) || kind(u8) || packIndex(u32) || frameOffset(u32)
 *           || frameLength(u32) || innerOffset(u32) || length(u32)
 *
 * The in-memory index lives in chunk-index.ts and is re-exported here.
 */
import { ByteReader, U32_MAX, bytesEqual, putU32 } from "./bytes.js";
import { compress, decompress } from "./compress.js";
import { SEAL_OVERHEAD, open, seal, toHex } from "./crypto.js";
import { IntegrityError } from "./errors.js";
import type { PackEntry } from "./pack.js";

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
  packs: { packId: Uint8Array; entries: PackEntry[] }[];
  /** Names of index files this one replaces (prune), ASCII, 1-255 characters, no `/`. */
  supersedes: string[];
}

const NAME_RE = /^[\x21-\x2e\x30-\x7e]{1,255}$/;

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
    for (const [ei, e] of p.entries.entries()) {
      const where = `packs[${pi}].entries[${ei}]`;
      if (e.id.length !== 32) throw new RangeError(`encodeIndexFile: ${where}.id must be 32 bytes, got ${e.id.length}`);
      if (e.kind !== 0 && e.kind !== 1) throw new RangeError(`encodeIndexFile: ${where}.kind must be 0 or 1, got ${String(e.kind)}`);
      for (const f of ["frameOffset", "frameLength", "innerOffset", "length"] as const) {
        const v = e[f];
        if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`encodeIndexFile: ${where}.${f} must be a u32, got ${v}`);
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
  return seal(encKey, compress(body));
}

/**
 * Opens, decompresses and parses an index file.
 * @param what names the file in error messages (e.g. its key).
 * @returns packs in file order, each with its entries in file order.
 * @throws IntegrityError on authentication failure, bad zstd, bad magic,
 *   truncation or trailing bytes, a pack listed twice, an entry naming a pack
 *   index out of range, an unknown kind, a frame shorter than a sealed message,
 *   or a bad supersedes name.
 */
export function decodeIndexFile(encKey: Uint8Array, bytes: Uint8Array, what = "index file"): IndexFileContents {
  let body: Uint8Array;
  try {
    body = decompress(open(encKey, bytes), MAX_INDEX_BODY);
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
  const packs: IndexFileContents["packs"] = [];
  const seen = new Set<string>();
  for (let i = 0; i < packCount; i++) {
    const packId = r.copy(32, `packId ${i}`);
    const hex = toHex(packId);
    if (seen.has(hex)) fail(`pack ${hex} is listed twice`, { packId: hex });
    seen.add(hex);
    packs.push({ packId, entries: [] });
  }
  const entryCount = r.u32("entryCount");
  if (entryCount * INDEX_ENTRY_BYTES > r.remaining) fail(`entryCount ${entryCount} exceeds the ${r.remaining} bytes left`);
  for (let i = 0; i < entryCount; i++) {
    const id = r.copy(32, `entry ${i} chunkId`);
    const kind = r.u8(`entry ${i} kind`);
    const packIndex = r.u32(`entry ${i} packIndex`);
    const frameOffset = r.u32(`entry ${i} frameOffset`);
    const frameLength = r.u32(`entry ${i} frameLength`);
    const innerOffset = r.u32(`entry ${i} innerOffset`);
    const length = r.u32(`entry ${i} length`);
    if (kind !== 0 && kind !== 1) fail(`entry ${i} has kind ${kind} (expected 0 data or 1 tree)`, { entry: i });
    if (frameLength < SEAL_OVERHEAD + 1) fail(`entry ${i} frameLength ${frameLength} is below the minimum ${SEAL_OVERHEAD + 1}`, { entry: i });
    const pack = packs[packIndex];
    if (!pack) return fail(`entry ${i} names pack index ${packIndex}, but the file lists ${packCount} packs`, { entry: i });
    pack.entries.push({ id, kind: kind as 0 | 1, frameOffset, frameLength, innerOffset, length });
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
  return { packs, supersedes };
}
