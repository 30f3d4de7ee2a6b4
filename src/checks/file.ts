/**
 * `file` check: a restored path exists (or must not), has the permission
 * bits given (exactly, or at least `+x`-style bits), the SHA-256 given, a
 * size within a range. Symlinks are followed (the file they point at is
 * checked).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { CheckAssertion, CheckContext, CheckOutcome, FileCheckSpec } from "./types.js";

/** SHA-256 (hex) of a file, streamed. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const block of createReadStream(path)) hash.update(block as Buffer);
  return hash.digest("hex");
}

const octal = (m: number): string => `0${(m & 0o7777).toString(8).padStart(3, "0")}`;

/** Runs a `file` check. Never throws. */
export async function runFileCheck(spec: FileCheckSpec, ctx: Pick<CheckContext, "cwd">): Promise<CheckOutcome> {
  const started = performance.now();
  const path = resolve(ctx.cwd, spec.path);
  const parts = [spec.exists ? `${spec.path} exists` : `${spec.path} does not exist`];
  if (spec.exists) {
    if (spec.modeText !== undefined) parts.push(`mode ${spec.modeText}`);
    if (spec.sha256) parts.push(`sha256 ${spec.sha256}`);
    if (spec.minSize !== undefined || spec.maxSize !== undefined) parts.push(`size ${spec.minSize ?? 0}..${spec.maxSize ?? "∞"} bytes`);
  }
  const expected = parts.join("; ");
  const done = (assertions: CheckAssertion[], detail?: string): CheckOutcome => {
    const failed = assertions.find((a) => !a.ok);
    return {
      ok: !failed, expected,
      observed: failed ? `${failed.what}: got ${failed.observed}` : assertions.map((a) => a.observed).join(", "),
      assertions, ...(detail ? { detail } : {}), durationMs: Math.round(performance.now() - started),
    };
  };
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const observed = code === "ENOENT" || code === "ENOTDIR" ? "missing" : `cannot stat (${code ?? (err as Error).message})`;
    return done([{ what: spec.exists ? "exists" : "does not exist", ok: !spec.exists && observed === "missing", observed }], `${path}: ${observed}`);
  }
  if (!spec.exists) return done([{ what: "does not exist", ok: false, observed: `exists (${st.isDirectory() ? "folder" : `${st.size} bytes`})` }]);
  const kind = st.isDirectory() ? "folder" : st.isFile() ? "file" : "special file";
  const assertions: CheckAssertion[] = [{ what: "exists", ok: true, observed: `${kind}, mode ${octal(st.mode)}, ${st.size} bytes` }];
  const mode = st.mode & 0o7777;
  if (spec.modeExact !== undefined) assertions.push({ what: `mode ${spec.modeText ?? octal(spec.modeExact)}`, ok: mode === spec.modeExact, observed: octal(mode) });
  if (spec.modeHas !== undefined) assertions.push({ what: `mode ${spec.modeText ?? `has ${octal(spec.modeHas)}`}`, ok: (mode & spec.modeHas) === spec.modeHas, observed: octal(mode) });
  if (spec.sha256) {
    if (!st.isFile()) assertions.push({ what: "sha256", ok: false, observed: `not a regular file (${kind})` });
    else {
      const h = await sha256Of(path);
      assertions.push({ what: `sha256 ${spec.sha256}`, ok: h === spec.sha256.toLowerCase(), observed: h });
    }
  }
  if (spec.minSize !== undefined || spec.maxSize !== undefined) {
    const ok = st.size >= (spec.minSize ?? 0) && st.size <= (spec.maxSize ?? Number.POSITIVE_INFINITY);
    assertions.push({ what: `size ${spec.minSize ?? 0}..${spec.maxSize ?? "∞"}`, ok, observed: `${st.size} bytes` });
  }
  return done(assertions);
}
