/**
 * Cuts the chunks restore must write into segments: each holds chunks of one
 * pack only, about `segmentBytes` of sealed frames, and is one job of the
 * restore pool. Packs come in the order files first need them, and within a
 * pack files keep their order, so a file's chunks mostly sit in consecutive
 * frames. A file whose chunks are all in one pack ("whole") is never cut: one
 * segment creates, checks and completes it. Other files ("split") are cut at
 * chunk boundaries wherever a segment is full.
 */
/**
 * Numbers per chunk in a file's chunk table (a Float64Array): pack number (the caller's), frame offset,
 * frame length, offset in the decoded frame, length, offset in the file. Offsets and lengths in bytes.
 */
export const CHUNK_FIELDS = 6;

/** Per-file chunk tables: `count` files; `table(f)` is file f's CHUNK_FIELDS numbers per chunk, in file order. */
export interface ChunkTables {
  readonly count: number;
  table(file: number): Float64Array;
}

/** The chunks of one file in one segment. */
export interface SegmentFile {
  /** The file's number (its index in the planned list). */
  readonly file: number;
  /** The segment holds every chunk of the file. */
  readonly whole: boolean;
  /** Indexes of the file's chunks in this segment, ascending. */
  readonly chunks: number[];
}

/** One job: chunks of one pack and the sealed frames they need. */
export interface Segment {
  /** Pack number (as in the chunk tables). */
  readonly pack: number;
  readonly files: SegmentFile[];
  /** Frame offset -> frame length (bytes) of every frame needed. */
  readonly frames: Map<number, number>;
  /** Sum of the needed frames' lengths (bytes). */
  bytes: number;
}

/** The segments, and per file: whether it is whole, and in how many segments it appears. */
export interface SegmentPlan {
  readonly segments: Segment[];
  readonly whole: boolean[];
  readonly segmentsPerFile: number[];
}

/**
 * Plans segments for `files` (each file's chunk table, CHUNK_FIELDS numbers per chunk, in file order;
 * an empty table writes nothing).
 * @param segmentBytes target sealed bytes per segment; a whole file bigger than that gets a segment of its own size.
 */
export function planSegments(tables: ChunkTables | readonly Float64Array[], segmentBytes: number): SegmentPlan {
  const files: ChunkTables = "table" in tables ? tables : { count: tables.length, table: (f) => tables[f]! };
  // Pack -> files with chunks in it, in order of first need.
  const byPack = new Map<number, Map<number, number[]>>();
  const whole: boolean[] = [];
  for (let f = 0; f < files.count; f++) {
    const table = files.table(f);
    const n = table.length / CHUNK_FIELDS;
    let single = n > 0;
    for (let i = 0; i < n; i++) {
      const pack = table[i * CHUNK_FIELDS]!;
      if (pack !== table[0]) single = false;
      let perFile = byPack.get(pack);
      if (!perFile) byPack.set(pack, (perFile = new Map()));
      const list = perFile.get(f);
      if (list) list.push(i);
      else perFile.set(f, [i]);
    }
    whole.push(single);
  }
  const segments: Segment[] = [];
  const segmentsPerFile = new Array<number>(files.count).fill(0);
  for (const [pack, perFile] of byPack) {
    let seg: Segment | undefined;
    const fresh = (): Segment => {
      const s: Segment = { pack, files: [], frames: new Map(), bytes: 0 };
      segments.push(s);
      return s;
    };
    const addFrame = (s: Segment, table: Float64Array, i: number): void => {
      const offset = table[i * CHUNK_FIELDS + 1]!;
      if (s.frames.has(offset)) return;
      const length = table[i * CHUNK_FIELDS + 2]!;
      s.frames.set(offset, length);
      s.bytes += length;
    };
    for (const [f, chunks] of perFile) {
      const table = files.table(f);
      if (whole[f]) {
        if (!seg || seg.bytes >= segmentBytes) seg = fresh();
        for (const i of chunks) addFrame(seg, table, i);
        seg.files.push({ file: f, whole: true, chunks });
        segmentsPerFile[f]!++;
        continue;
      }
      let part: SegmentFile | undefined;
      for (const i of chunks) {
        if (!seg || (seg.bytes >= segmentBytes && !seg.frames.has(table[i * CHUNK_FIELDS + 1]!))) {
          seg = fresh();
          part = undefined;
        }
        if (!part) {
          seg.files.push((part = { file: f, whole: false, chunks: [] }));
          segmentsPerFile[f]!++;
        }
        addFrame(seg, table, i);
        part.chunks.push(i);
      }
    }
  }
  return { segments, whole, segmentsPerFile };
}
