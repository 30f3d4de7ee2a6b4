/**
 * Pack files: many chunks in one object, so the store sees few requests.
 * Format (format v1, docs/format.md; all integers little-endian):
 *
 *   pack   = frame_1 .. frame_n || sealedHeader || u32(len(sealedHeader))
 *   frame  = seal(encKey, flag(u8) || payload)
 *            flag 1: payload = zstd(concatenation of the frame's chunk plaintexts)
 *            flag 0: payload = the raw concatenation (when zstd does not shrink it)
 *   header = "RSTPACK1" || u32 count || count x entry(49 bytes)
 *   entry  = chunkId(32) || kind(u8: 0 data, 1 tree) || frameOffset(u32)
 *            || frameLength(u32, sealed) || innerOffset(u32, in the decoded frame)
 *            || length(u32, chunk plaintext)
 *   sealedHeader = seal(encKey, header)
 *   pack id = SHA-256(pack bytes)
 *
 * Grouping small chunks into frames lets zstd see more context and bounds
 * per-frame overhead (28 bytes of AES-GCM + 1 flag byte); big chunks get a
 * frame of their own so a restore never decodes more than it needs.
 * `seal`/`open` are AES-256-GCM (src/core/crypto.ts); zstd is src/core/compress.ts.
 */
import { ByteReader, U32_MAX, freeNow, getU32, growBytes, putU32 } from "./bytes.js";
import { compress, decompress } from "./compress.js";
import { SEAL_OVERHEAD, open, seal, sha256 } from "./crypto.js";
import { IntegrityError } from "./errors.js";

/** Magic at the start of a pack header plaintext. */
export const PACK_MAGIC = "RSTPACK1";
/** Bytes per header entry. */
export const PACK_ENTRY_BYTES = 49;
/** Bytes of the header plaintext before the entries (magic + count). */
const HEADER_PREFIX_BYTES = 12;
/** Frame flag: payload is zstd. */
export const FRAME_ZSTD = 1;
/** Frame flag: payload is stored raw. */
export const FRAME_RAW = 0;
/** Upper bound on a decoded frame (bytes); guards decompression. */
export const MAX_FRAME_PLAINTEXT = 256 * 1024 * 1024;

const MAGIC_BYTES = new TextEncoder().encode(PACK_MAGIC);

/** Chunk kinds: 0 = file data, 1 = tree/metadata. */
export type ChunkKind = 0 | 1;

/** Where one chunk lives inside a pack. Offsets and lengths in bytes. */
export interface PackEntry {
  /** Chunk id, 32 bytes (HMAC-SHA-256 of the plaintext under the repository's id key). */
  id: Uint8Array;
  kind: ChunkKind;
  /** Offset of the sealed frame from the start of the pack. */
  frameOffset: number;
  /** Length of the sealed frame. */
  frameLength: number;
  /** Offset of the chunk in the frame's decoded plaintext. */
  innerOffset: number;
  /** Plaintext length of the chunk. */
  length: number;
}

/**
 * Turns a frame's plaintext into its sealed form (`seal(flag || payload)`),
 * possibly on another thread (src/repo/frame-pool.ts). Must produce exactly
 * what `encodeFrame` does; the pool's test decodes its output with `decodeFrame`.
 * It must copy `plain` before it returns (synchronously): the builder reuses
 * that memory for the next frame.
 */
export type FrameEncoder = (plain: Uint8Array) => Promise<Uint8Array>;

/**
 * Encodes one frame: zstd when it makes the payload smaller, else raw, then sealed.
 * @returns `seal(encKey, flag(u8) || payload)`.
 */
export function encodeFrame(encKey: Uint8Array, plain: Uint8Array): Uint8Array {
  const packed = compress(plain);
  const useZstd = packed.length < plain.length;
  const payload = useZstd ? packed : plain;
  const body = new Uint8Array(1 + payload.length);
  body[0] = useZstd ? FRAME_ZSTD : FRAME_RAW;
  body.set(payload, 1);
  return seal(encKey, body);
}

/** Options of `PackBuilder`. */
export interface PackBuilderOptions {
  /** 32-byte AES-256-GCM key for frames and header. */
  encKey: Uint8Array;
  /**
   * Encodes frames asynchronously (e.g. on worker threads). When set, `add`
   * hands each closed frame to it and `finishAsync` must be used.
   */
  encoder?: FrameEncoder;
  /** Called with each frame `encoder` returned once it is copied into the pack: its memory may be reused. */
  release?: (sealed: Uint8Array) => void;
  /** Sealed/plaintext ratio to assume before this pack has placed a frame (from earlier packs); default 1. */
  expectedRatio?: number;
  /** Plaintext bytes per frame before it is closed; default 64 KiB. */
  frameTarget?: number;
  /** Pack size (bytes) at which `full` turns true; default 16 MiB. */
  packTarget?: number;
  /**
   * Memory to lay the pack out in (an earlier pack's, once uploaded), so a snapshot does not
   * allocate and free 16 MiB per pack; grown (copied) when the pack does not fit. A function is
   * asked when the first frame is placed (a pack uploading meanwhile may have given its memory back).
   */
  buffer?: Uint8Array | (() => Uint8Array | undefined);
}

/** A pack's entries: an array, or a PackEntryTable (what `PackBuilder` gives). */
export type PackEntries = Iterable<PackEntry> & { readonly length: number };

/**
 * A pack's entries as header bytes, PACK_ENTRY_BYTES each in header layout
 * (id 32, kind u8, frameOffset u32, frameLength u32, innerOffset u32, length u32; big-endian
 * as `putU32`). A snapshot keeps every new pack's entries until it writes its index file: as
 * objects that was about 300 bytes per chunk (a 480 MB database brings 118,000 chunks), as bytes
 * it is 49. Iterating yields a fresh PackEntry per entry whose `id` aliases these bytes.
 */
export class PackEntryTable implements Iterable<PackEntry> {
  /** @param bytes the entries, a whole number of PACK_ENTRY_BYTES (not copied). @throws RangeError otherwise. */
  constructor(readonly bytes: Uint8Array) {
    if (bytes.length % PACK_ENTRY_BYTES !== 0) throw new RangeError(`PackEntryTable: ${bytes.length} bytes is not a whole number of ${PACK_ENTRY_BYTES}-byte entries`);
  }

  /** Number of entries. */
  get length(): number {
    return this.bytes.length / PACK_ENTRY_BYTES;
  }

  /** Entry `i` (0-based) as an object. @throws RangeError when out of range. */
  at(i: number): PackEntry {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`PackEntryTable: no entry ${i} of ${this.length}`);
    const o = i * PACK_ENTRY_BYTES;
    const b = this.bytes;
    return {
      id: b.subarray(o, o + 32), kind: b[o + 32] as ChunkKind,
      frameOffset: getU32(b, o + 33), frameLength: getU32(b, o + 37), innerOffset: getU32(b, o + 41), length: getU32(b, o + 45),
    };
  }

  *[Symbol.iterator](): Iterator<PackEntry> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** Every entry as an object (ids copied). */
  toArray(): PackEntry[] {
    return Array.from(this, (e) => ({ ...e, id: e.id.slice() }));
  }
}

/** Output of `PackBuilder.finish`. */
export interface FinishedPack {
  /** The whole pack; a view of the builder's buffer (`PackBuilderOptions.buffer`, when given). */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, 32 bytes. */
  packId: Uint8Array;
  /** One entry per chunk, in the order added. */
  entries: PackEntryTable;
}

/**
 * Builds one pack in memory. `add` copies (or compresses) the plaintext
 * before returning, so callers may reuse their buffers. Sealed frames are
 * copied, in pack order, into one pack buffer as soon as they are ready (with
 * an encoder, frames finish out of order on other threads), and the entries
 * are kept as header bytes: a pack costs its own size once, not its frames
 * plus a concatenation plus an object per chunk.
 */
export class PackBuilder {
  private readonly encKey: Uint8Array;
  readonly frameTarget: number;
  readonly packTarget: number;
  /** The pack so far (`sealedBytes` used); taken or allocated at the first frame. */
  private pack: Uint8Array | undefined;
  private readonly given: PackBuilderOptions["buffer"];
  private sealedBytes = 0;
  private readonly encoder: FrameEncoder | undefined;
  private readonly release: ((sealed: Uint8Array) => void) | undefined;
  /** Places frames handed to `encoder` in pack order; rejects with the first encoding failure. */
  private placing: Promise<void> = Promise.resolve();
  private pendingPlain = 0;
  /** Sealed bytes per plaintext byte seen so far (estimates the size of pending frames). */
  private plainDone = 0;
  private readonly expectedRatio: number;
  /** Header plaintext: prefix, then PACK_ENTRY_BYTES per entry (frame fields filled when the frame is placed). */
  private header: Uint8Array = new Uint8Array(HEADER_PREFIX_BYTES + 256 * PACK_ENTRY_BYTES);
  private entryCount = 0;
  /** Open frame: plaintext buffer (capacity 2 x frameTarget) and its first entry and entry count. */
  private openBuf: Uint8Array;
  private openLen = 0;
  private openFirst = 0;
  private openCount = 0;
  private finished = false;

  /** @throws RangeError on a key that is not 32 bytes or a non-positive target. */
  constructor(opts: PackBuilderOptions) {
    if (opts.encKey.length !== 32) throw new RangeError(`PackBuilder: encKey must be 32 bytes, got ${opts.encKey.length}`);
    const frameTarget = opts.frameTarget ?? 64 * 1024;
    const packTarget = opts.packTarget ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(frameTarget) || frameTarget < 1 || frameTarget > MAX_FRAME_PLAINTEXT) {
      throw new RangeError(`PackBuilder: frameTarget must be an integer in [1, ${MAX_FRAME_PLAINTEXT}], got ${frameTarget}`);
    }
    if (!Number.isSafeInteger(packTarget) || packTarget < 1) throw new RangeError(`PackBuilder: packTarget must be a positive integer, got ${packTarget}`);
    this.encKey = opts.encKey;
    this.encoder = opts.encoder;
    this.release = opts.release;
    this.expectedRatio = opts.expectedRatio ?? 1;
    this.frameTarget = frameTarget;
    this.packTarget = packTarget;
    this.given = opts.buffer;
    this.openBuf = new Uint8Array(Math.min(2 * frameTarget, 1024 * 1024));
  }

  /**
   * Sealed bytes so far, plus frames being encoded elsewhere (estimated with
   * the compression ratio seen so far), plus the plaintext of the open frame.
   */
  get size(): number {
    const ratio = this.plainDone > 0 ? this.sealedBytes / this.plainDone : this.expectedRatio;
    return this.sealedBytes + Math.round(this.pendingPlain * ratio) + this.openLen;
  }

  /** True once `size >= packTarget`: time to `finish` and start a new pack. */
  get full(): boolean {
    return this.size >= this.packTarget;
  }

  /** Number of chunks added. */
  get count(): number {
    return this.entryCount;
  }

  /**
   * Adds one chunk. A chunk of `frameTarget` bytes or more gets a frame of its
   * own (after the open frame is closed); smaller ones join the open frame,
   * which is closed once its plaintext reaches `frameTarget`.
   * @param id 32-byte chunk id. @param kind 0 data, 1 tree.
   * @throws RangeError on a bad id, kind or size, or after `finish`.
   */
  add(id: Uint8Array, kind: ChunkKind, plaintext: Uint8Array): void {
    if (this.finished) throw new RangeError("PackBuilder: add after finish");
    if (id.length !== 32) throw new RangeError(`PackBuilder.add: chunk id must be 32 bytes, got ${id.length}`);
    if (kind !== 0 && kind !== 1) throw new RangeError(`PackBuilder.add: kind must be 0 or 1, got ${String(kind)}`);
    if (plaintext.length > MAX_FRAME_PLAINTEXT) {
      throw new RangeError(`PackBuilder.add: chunk of ${plaintext.length} bytes exceeds ${MAX_FRAME_PLAINTEXT}`);
    }
    const big = plaintext.length >= this.frameTarget;
    if (big) this.closeFrame();
    const i = this.entryCount++;
    const o = HEADER_PREFIX_BYTES + i * PACK_ENTRY_BYTES;
    if (o + PACK_ENTRY_BYTES > this.header.length) this.header = growBytes(this.header, o + PACK_ENTRY_BYTES, this.header.length);
    this.header.set(id, o);
    this.header[o + 32] = kind;
    putU32(this.header, o + 41, big ? 0 : this.openLen);
    putU32(this.header, o + 45, plaintext.length);
    if (big) {
      this.sealFrame(plaintext, i, 1);
      return;
    }
    if (this.openCount === 0) this.openFirst = i;
    this.openCount++;
    this.appendOpen(plaintext);
    if (this.openLen >= this.frameTarget) this.closeFrame();
  }

  /**
   * Closes the open frame, appends the sealed header and its length.
   * The builder cannot be used afterwards.
   */
  finish(): FinishedPack {
    if (this.encoder) throw new RangeError("PackBuilder: use finishAsync with an encoder");
    return this.assemble();
  }

  /**
   * `finish` for a builder with an `encoder`: waits for every frame to be placed.
   * @throws the first error an encoder call rejected with.
   */
  async finishAsync(): Promise<FinishedPack> {
    if (this.finished) throw new RangeError("PackBuilder: finish called twice");
    this.closeFrame();
    await this.placing;
    return this.assemble();
  }

  private assemble(): FinishedPack {
    if (this.finished) throw new RangeError("PackBuilder: finish called twice");
    this.closeFrame();
    this.finished = true;
    const end = HEADER_PREFIX_BYTES + this.entryCount * PACK_ENTRY_BYTES;
    const header = this.header.subarray(0, end);
    header.set(MAGIC_BYTES, 0);
    putU32(header, 8, this.entryCount);
    const sealedHeader = seal(this.encKey, header);
    const total = this.sealedBytes + sealedHeader.length + 4;
    const pack = this.reserve(total);
    pack.set(sealedHeader, this.sealedBytes);
    putU32(pack, this.sealedBytes + sealedHeader.length, sealedHeader.length);
    const bytes = pack.subarray(0, total);
    return { bytes, packId: sha256(bytes), entries: new PackEntryTable(header.slice(HEADER_PREFIX_BYTES)) };
  }

  /**
   * The pack buffer, holding at least `bytes`: first packTarget and an eighth (frames still being
   * encoded when `full` turned true, the header), then grown by an eighth of packTarget beyond
   * what is needed, not doubled (a 16 MiB pack that grew by doubling held 34 MiB).
   */
  private reserve(bytes: number): Uint8Array {
    const slack = this.packTarget >> 3;
    this.pack ??= (typeof this.given === "function" ? this.given() : this.given) ?? new Uint8Array(Math.max(bytes, this.packTarget) + slack);
    if (bytes > this.pack.length) {
      const next = new Uint8Array(bytes + slack);
      next.set(this.pack.subarray(0, this.sealedBytes));
      this.pack = next;
    }
    return this.pack;
  }

  private appendOpen(data: Uint8Array): void {
    const need = this.openLen + data.length;
    if (need > this.openBuf.length) this.openBuf = growBytes(this.openBuf, need, this.openLen);
    this.openBuf.set(data, this.openLen);
    this.openLen = need;
  }

  private closeFrame(): void {
    if (this.openCount === 0) return;
    this.sealFrame(this.openBuf.subarray(0, this.openLen), this.openFirst, this.openCount);
    this.openCount = 0;
    this.openLen = 0;
  }

  /** Seals entries [first, first + count) as one frame, here or through the encoder. */
  private sealFrame(plain: Uint8Array, first: number, count: number): void {
    const plainLength = plain.length;
    if (!this.encoder) {
      this.place(encodeFrame(this.encKey, plain), first, count, plainLength);
      return;
    }
    // The encoder copies `plain` (into memory it can hand to another thread) before it returns.
    const sealed = this.encoder(plain);
    sealed.catch(() => undefined); // a failure surfaces through `placing`, in order
    this.pendingPlain += plainLength;
    this.placing = this.placing.then(async () => {
      const frame = await sealed;
      this.pendingPlain -= plainLength;
      this.place(frame, first, count, plainLength);
      this.release?.(frame);
    });
    this.placing.catch(() => undefined); // awaited by finishAsync; an abandoned builder must not crash the process
  }

  private place(sealed: Uint8Array, first: number, count: number, plainLength: number): void {
    const offset = this.sealedBytes;
    if (offset + sealed.length > U32_MAX) throw new RangeError("PackBuilder: pack would exceed 4 GiB (u32 offsets)");
    this.reserve(offset + sealed.length).set(sealed, offset);
    for (let i = first; i < first + count; i++) {
      const o = HEADER_PREFIX_BYTES + i * PACK_ENTRY_BYTES;
      putU32(this.header, o + 33, offset);
      putU32(this.header, o + 37, sealed.length);
    }
    this.sealedBytes += sealed.length;
    this.plainDone += plainLength;
  }
}

/**
 * Decrypts and decodes one sealed frame.
 * @param maxBytes bound on the decoded size (bytes).
 * @returns the plaintext of the whole frame (all its chunks, concatenated).
 * @throws IntegrityError on authentication failure, an unknown flag or a bad zstd payload.
 */
export function decodeFrame(encKey: Uint8Array, sealedFrame: Uint8Array, maxBytes = MAX_FRAME_PLAINTEXT): Uint8Array {
  const body = open(encKey, sealedFrame);
  if (body.length < 1) throw new IntegrityError("pack frame: empty plaintext (missing flag byte)");
  const flag = body[0];
  const payload = body.subarray(1);
  if (flag === FRAME_RAW) return payload;
  if (flag === FRAME_ZSTD) {
    const out = decompress(payload, maxBytes);
    freeNow(body); // ours alone, and up to 128 KiB per frame
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  throw new IntegrityError(`pack frame: unknown flag ${String(flag)} (expected 0 raw or 1 zstd)`, { flag });
}

/**
 * One chunk's plaintext from its decoded frame (a subarray: aliases `frame`).
 * @throws IntegrityError when the entry does not fit inside the frame.
 */
export function chunkFromFrame(frame: Uint8Array, entry: Pick<PackEntry, "innerOffset" | "length">): Uint8Array {
  const end = entry.innerOffset + entry.length;
  if (end > frame.length) {
    throw new IntegrityError(`pack frame: chunk [${entry.innerOffset}, ${end}) lies outside the decoded frame of ${frame.length} bytes`, {
      innerOffset: entry.innerOffset,
      length: entry.length,
      frameBytes: frame.length,
    });
  }
  return frame.subarray(entry.innerOffset, end);
}

/**
 * Length of the sealed header, from the last 4 bytes of a pack.
 * @throws IntegrityError when `last4` is not 4 bytes or the length is smaller than a sealed message.
 */
export function readPackHeaderLength(last4: Uint8Array): number {
  if (last4.length !== 4) throw new IntegrityError(`pack trailer: expected 4 bytes, got ${last4.length}`);
  const n = getU32(last4, 0);
  if (n < SEAL_OVERHEAD + HEADER_PREFIX_BYTES) {
    throw new IntegrityError(`pack trailer: header length ${n} is below the minimum ${SEAL_OVERHEAD + HEADER_PREFIX_BYTES}`, { headerLength: n });
  }
  return n;
}

/**
 * Decrypts and validates a pack header.
 * @param packLength total pack length in bytes (frames + sealed header + 4).
 * @returns the entries, in header order.
 * @throws IntegrityError naming the problem: authentication failure, bad magic,
 *   count vs length mismatch, unknown kind, a frame outside the frame area
 *   `[0, packLength - 4 - sealedHeader.length)`, overlapping frames, or a
 *   frame shorter than a sealed message.
 */
export function decodePackHeader(encKey: Uint8Array, sealedHeader: Uint8Array, packLength: number): PackEntry[] {
  const frameArea = packLength - 4 - sealedHeader.length;
  if (frameArea < 0) {
    throw new IntegrityError(`pack header: ${sealedHeader.length} header bytes do not fit a pack of ${packLength} bytes`, { packLength });
  }
  const plain = open(encKey, sealedHeader);
  const r = new ByteReader(plain, "pack header");
  const magic = r.bytes(MAGIC_BYTES.length, "magic");
  for (let i = 0; i < MAGIC_BYTES.length; i++) {
    if (magic[i] !== MAGIC_BYTES[i]) throw new IntegrityError(`pack header: bad magic (expected "${PACK_MAGIC}")`);
  }
  const count = r.u32("count");
  if (r.remaining !== count * PACK_ENTRY_BYTES) {
    throw new IntegrityError(`pack header: count ${count} needs ${count * PACK_ENTRY_BYTES} entry bytes, header has ${r.remaining}`, { count });
  }
  const entries: PackEntry[] = new Array<PackEntry>(count);
  for (let i = 0; i < count; i++) {
    const id = r.copy(32, `entry ${i} chunkId`);
    const kind = r.u8(`entry ${i} kind`);
    if (kind !== 0 && kind !== 1) throw new IntegrityError(`pack header: entry ${i} has kind ${kind} (expected 0 data or 1 tree)`, { entry: i });
    const frameOffset = r.u32(`entry ${i} frameOffset`);
    const frameLength = r.u32(`entry ${i} frameLength`);
    const innerOffset = r.u32(`entry ${i} innerOffset`);
    const length = r.u32(`entry ${i} length`);
    if (frameLength < SEAL_OVERHEAD + 1) {
      throw new IntegrityError(`pack header: entry ${i} frameLength ${frameLength} is below the minimum ${SEAL_OVERHEAD + 1}`, { entry: i });
    }
    if (frameOffset + frameLength > frameArea) {
      throw new IntegrityError(`pack header: entry ${i} frame [${frameOffset}, ${frameOffset + frameLength}) lies outside the frame area [0, ${frameArea})`, {
        entry: i,
        frameOffset,
        frameLength,
      });
    }
    if (innerOffset + length > MAX_FRAME_PLAINTEXT) {
      throw new IntegrityError(`pack header: entry ${i} ends at ${innerOffset + length}, beyond the frame limit ${MAX_FRAME_PLAINTEXT}`, { entry: i });
    }
    entries[i] = { id, kind, frameOffset, frameLength, innerOffset, length };
  }
  checkFramesDisjoint(entries);
  return entries;
}

/** Frames named by the entries must not overlap (entries of one frame agree on its length). */
function checkFramesDisjoint(entries: readonly PackEntry[]): void {
  const frames = new Map<number, number>();
  for (const e of entries) {
    const len = frames.get(e.frameOffset);
    if (len === undefined) frames.set(e.frameOffset, e.frameLength);
    else if (len !== e.frameLength) {
      throw new IntegrityError(`pack header: frame at ${e.frameOffset} has two lengths (${len} and ${e.frameLength})`, { frameOffset: e.frameOffset });
    }
  }
  const sorted = [...frames].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [prevOff, prevLen] = sorted[i - 1]!;
    const [off] = sorted[i]!;
    if (prevOff + prevLen > off) throw new IntegrityError(`pack header: frames at ${prevOff} and ${off} overlap`, { frameOffset: off });
  }
}

/**
 * Reads the entries of a whole pack held in memory (trailer + header only;
 * frames are authenticated when decoded, see `readPackChunks`).
 * @throws IntegrityError on a truncated pack or a bad header.
 */
export function decodePack(encKey: Uint8Array, bytes: Uint8Array): PackEntry[] {
  if (bytes.length < 4) throw new IntegrityError(`pack: ${bytes.length} bytes is too short for the trailer`, { packLength: bytes.length });
  const headerLength = readPackHeaderLength(bytes.subarray(bytes.length - 4));
  if (headerLength > bytes.length - 4) {
    throw new IntegrityError(`pack: header length ${headerLength} exceeds the ${bytes.length - 4} bytes before the trailer (truncated pack?)`, {
      packLength: bytes.length,
      headerLength,
    });
  }
  const headerStart = bytes.length - 4 - headerLength;
  return decodePackHeader(encKey, bytes.subarray(headerStart, bytes.length - 4), bytes.length);
}

/**
 * Decodes every frame of a pack once and yields each chunk with its entry,
 * in entry order grouped by frame (what `verify --read-data` and rebuilds need).
 * Chunk plaintexts alias the decoded frame. Does not check chunk ids: the
 * caller recomputes the keyed HMAC.
 * @param entries from `decodePack` (default: decoded here).
 * @throws IntegrityError when a frame fails authentication or decoding, or a chunk lies outside its frame.
 */
export function* readPackChunks(
  encKey: Uint8Array,
  bytes: Uint8Array,
  entries: readonly PackEntry[] = decodePack(encKey, bytes),
): Generator<{ entry: PackEntry; plaintext: Uint8Array }> {
  const byFrame = new Map<number, PackEntry[]>();
  for (const e of entries) {
    const list = byFrame.get(e.frameOffset);
    if (list) list.push(e);
    else byFrame.set(e.frameOffset, [e]);
  }
  for (const [offset, list] of byFrame) {
    const first = list[0]!;
    if (offset + first.frameLength > bytes.length) {
      throw new IntegrityError(`pack: frame [${offset}, ${offset + first.frameLength}) lies outside the ${bytes.length}-byte pack`, { frameOffset: offset });
    }
    let frame: Uint8Array;
    try {
      frame = decodeFrame(encKey, bytes.subarray(offset, offset + first.frameLength));
    } catch (err) {
      if (err instanceof IntegrityError) {
        throw new IntegrityError(`pack: frame at offset ${offset}: ${err.message}`, { frameOffset: offset }, { cause: err });
      }
      throw err;
    }
    for (const entry of list) yield { entry, plaintext: chunkFromFrame(frame, entry) };
  }
}
