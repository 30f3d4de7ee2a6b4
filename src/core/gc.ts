/**
 * An explicit garbage collection on the calling thread, for the few places
 * where this program knows better than V8's heuristics when memory just
 * became garbage (see the callers: zstd contexts in compress.ts, the
 * planning data of a restore in ops/restore/restore.ts). The worker threads
 * restate these lines, since they import only `node:` modules.
 *
 * `--expose-gc` set at run time (node:v8 `setFlagsFromString`) applies to
 * contexts made afterwards, hence the fresh vm context whose `gc` collects
 * this thread's heap.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options: { type: "minor" | "major"; flavor?: "regular" | "last-resort" }) => void;
let gc: Gc | undefined;

/**
 * Collects this thread's garbage now:
 * - `minor`: a scavenge of the young generation (about a millisecond);
 * - `major`: a full mark-compact, which also frees the native memory of dead ArrayBuffers;
 * - `shrink`: full mark-compacts until nothing more is freed, then V8 gives the emptied pages back
 *   to the system (V8's "last resort" collection; a plain major collection keeps them pooled and
 *   resident). Tens to a few hundred ms on a heap of ~50 MB: for a one-off point only.
 */
export function collectGarbage(type: "minor" | "major" | "shrink"): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as Gc;
  }
  gc(type === "shrink" ? { type: "major", flavor: "last-resort" } : { type });
}
