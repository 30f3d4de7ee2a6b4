/**
 * Reads small files ahead of the snapshot loop. Opening, reading and closing
 * a file are three system calls, and hashing it two more passes; done one
 * file at a time on the main thread, a tree of 58,000 small files kept the
 * main thread busy with them while the frame workers waited. Here:
 * - files of one chunk (smaller than FastCDC's minimum size) go in batches
 *   to the frame pool's workers, which read them and compute their SHA-256
 *   and chunk id (FramePool.readFiles);
 * - other files up to `maxBytes` are read whole with fs/promises while
 *   earlier ones are chunked, hashed and packed;
 * all handed out in walk order.
 *
 * A SQLite entry points at a temporary copy. When the caller owns it
 * (`release`: stored alongside the walk, listed after it), it is handed out
 * at once, ahead of the entries queued. Otherwise the walker deletes the copy
 * as soon as the next entry is asked for: everything queued is handed out
 * first and the database before the walk goes on.
 */
import { open } from "node:fs/promises";
import type { SourceEntry } from "../../sources/types.js";
import type { ReadReply } from "../../repo/frame-worker.js";

/** A file's whole content, read ahead. */
export interface Preloaded {
  readonly data: Uint8Array;
  /** Present when a worker read the file as one chunk: SHA-256 (hex) and chunk id (none for an empty file). */
  readonly hashed?: { readonly sha256: string; readonly chunkId?: Uint8Array };
}

/** An entry, and for small files its content on the way (undefined: it grew since the walk, read it yourself). */
export interface AheadEntry {
  readonly entry: SourceEntry;
  /** Rejects with the read error (its `code` is the errno) when the file could not be read. */
  readonly content?: Promise<Preloaded | undefined>;
}

/** Reads and hashes batches of one-chunk files (FramePool). */
export interface BatchReader {
  /** `buffer`, when given, is transferred and read into if the batch fits. */
  readFiles(paths: readonly string[], sizes: readonly number[], buffer?: ArrayBuffer): Promise<ReadReply>;
}

export interface ReadAheadOptions {
  /**
   * Entries queued ahead of the consumer (default 256). What waits in the queue lives long enough to
   * be promoted to V8's old generation: 1,024 entries cost a D1 snapshot about 24 MB of peak RSS in
   * garbage, and were no faster.
   */
  readonly depth?: number;
  /**
   * Bytes of content read ahead and not yet handed out, at most (default 4 MiB; 8 MiB was no faster
   * on D1). Without a byte
   * bound, 1,024 entries of files up to 1 MiB could hold a gigabyte; D1's tree reached 50 MB.
   */
  readonly aheadBytes?: number;
  /** Only files up to this many bytes are read ahead (default 1 MiB); larger ones are streamed by the consumer. */
  readonly maxBytes?: number;
  /** False for entries whose content will not be read (unchanged since the parent). */
  readonly wanted: (entry: SourceEntry) => boolean;
  /** Reads one-chunk files in batches; without it every small file is read here. */
  readonly batches?: { readonly reader: BatchReader; readonly maxFileBytes: number };
}

/** Files and bytes per batch sent to a worker. */
const BATCH_FILES = 32;
const BATCH_BYTES = 512 * 1024;

interface Batch {
  paths: string[];
  sizes: number[];
  settle: ((reply: ReadReply | Error, index: number) => void)[];
  bytes: number;
  /** Entries of this batch not yet handed out. */
  left: number;
  /** The memory the reply's contents are in, once it arrived. */
  memory?: ArrayBuffer;
}

/**
 * Batch memory is recycled: once the consumer asks for the entry after a batch's last one, it is
 * done with that batch's contents (it stores one file at a time and the sink copies what it keeps),
 * so the next batch is read into the same memory. A fresh buffer per batch was 260 MB of
 * allocations for D1's tree, which V8 answers with major collections. At most RECYCLED_BATCHES
 * such buffers are made; beyond them a batch goes without one and the worker allocates what it
 * needs (a heap snapshot of a D1 snapshot found 52 buffers of 768 KiB alive, mostly for batches of
 * tiny files, whose content is far smaller).
 */
const RECYCLED_BATCH_BYTES = BATCH_BYTES + BATCH_FILES + 256 * 1024;
const RECYCLED_BATCHES = 6;

/** Yields `entries` in order, each small wanted file with its content already on the way. */
export async function* readAhead(entries: AsyncIterable<SourceEntry>, options: ReadAheadOptions): AsyncGenerator<AheadEntry> {
  const depth = options.depth ?? 256;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const aheadBytes = options.aheadBytes ?? 4 * 1024 * 1024;
  const queue: { item: AheadEntry; batch?: Batch; bytes: number }[] = [];
  /** Content bytes of the queued entries. */
  let queued = 0;
  let filling: Batch | undefined;
  const spare: ArrayBuffer[] = [];
  let recycledMade = 0;
  /** The batch of the entry handed out last, while the consumer may still be reading it. */
  let inUse: Batch | undefined;
  const send = (): void => {
    const batch = filling;
    if (!batch) return;
    filling = undefined;
    let memory = batch.bytes + batch.paths.length <= RECYCLED_BATCH_BYTES ? spare.pop() : undefined;
    if (!memory && recycledMade < RECYCLED_BATCHES && batch.bytes + batch.paths.length <= RECYCLED_BATCH_BYTES) {
      recycledMade++;
      memory = new ArrayBuffer(RECYCLED_BATCH_BYTES);
    }
    options.batches!.reader.readFiles(batch.paths, batch.sizes, memory).then(
      (reply) => {
        batch.memory = reply.data.buffer as ArrayBuffer;
        batch.settle.forEach((s, i) => s(reply, i));
      },
      (err: unknown) => batch.settle.forEach((s, i) => s(err as Error, i)),
    );
  };
  const next = (): AheadEntry => {
    const head = queue.shift()!;
    queued -= head.bytes;
    if (inUse && inUse.left === 0 && inUse !== head.batch) {
      if (inUse.memory?.byteLength === RECYCLED_BATCH_BYTES) spare.push(inUse.memory);
      inUse = undefined;
    }
    if (head.batch) {
      if (head.batch === filling) send();
      head.batch.left--;
      inUse = head.batch;
    }
    return head.item;
  };
  for await (const entry of entries) {
    if (entry.release) {
      yield { entry }; // a copy the consumer stores alongside and lists later: no need to keep its place
      continue;
    }
    if (entry.sqlite) {
      while (queue.length) yield next();
      yield { entry };
      continue;
    }
    const small = entry.type === "file" && entry.contentPath !== undefined && entry.size <= maxBytes && options.wanted(entry);
    if (!small) {
      queue.push({ item: { entry }, bytes: 0 });
    } else if (options.batches && entry.chunking?.mode === "cdc" && entry.size <= options.batches.maxFileBytes) {
      filling ??= { paths: [], sizes: [], settle: [], bytes: 0, left: 0 };
      const batch = filling;
      const content = new Promise<Preloaded | undefined>((resolve, reject) => {
        batch.settle.push((reply, i) => (reply instanceof Error ? reject(reply) : resolve(fromReply(reply, i))));
      });
      batch.paths.push(entry.contentPath!);
      batch.sizes.push(entry.size);
      batch.bytes += entry.size;
      batch.left++;
      queue.push({ item: handled({ entry, content }), batch, bytes: entry.size });
      if (batch.paths.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) send();
    } else {
      queue.push({ item: handled({ entry, content: readWhole(entry.contentPath!, entry.size) }), bytes: entry.size });
    }
    queued += queue[queue.length - 1]!.bytes;
    while (queue.length > depth || queued > aheadBytes) yield next();
  }
  while (queue.length) yield next();
}

/** Marks the content promise handled now: the consumer awaits it in order, and may stop early. */
function handled(item: AheadEntry): AheadEntry {
  item.content?.catch(() => undefined);
  return item;
}

function fromReply(reply: ReadReply, i: number): Preloaded | undefined {
  const r = reply.files[i]!;
  if ("grown" in r) return undefined;
  if ("error" in r) throw Object.assign(new Error(r.error), r.code ? { code: r.code } : {});
  return { data: reply.data.subarray(r.offset, r.offset + r.length), hashed: { sha256: r.sha256, ...(r.chunkId ? { chunkId: r.chunkId } : {}) } };
}

/**
 * The whole file in three calls (open, read, close; no fstat: the walk gave
 * the size). One byte more is asked for, and a file that grew since the walk
 * is read on to its end.
 */
async function readWhole(path: string, size: number): Promise<Preloaded> {
  const handle = await open(path, "r");
  try {
    let buf = new Uint8Array(size + 1);
    let len = (await handle.read(buf, 0, buf.length, 0)).bytesRead;
    while (len === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
      const n = (await handle.read(buf, len, buf.length - len, len)).bytesRead;
      if (n === 0) break;
      len += n;
    }
    return { data: buf.subarray(0, len) };
  } finally {
    await handle.close();
  }
}
