/**
 * Waiting for the application to become ready: polls an HTTP URL (a status
 * in the accepted list, default any 2xx or 3xx), a TCP port (a connection
 * succeeds), or the application's log (a line matches a regular
 * expression), every 100 ms until the start timeout. Gives up at once when
 * the application exits or the drill is interrupted.
 */
import { open } from "node:fs/promises";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { AppProcess } from "./app.js";

/** A resolved probe. */
export type ReadyProbe =
  | { readonly kind: "http"; readonly url: string; readonly status?: readonly number[] }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "log"; readonly pattern: RegExp };

/** The outcome of waiting. `observed` is the last thing the probe saw (status, error, ...). */
export type ReadyResult =
  | { readonly ready: true; readonly afterMs: number; readonly observed: string }
  | { readonly ready: false; readonly reason: "timeout" | "exited" | "interrupted"; readonly afterMs: number; readonly observed: string };

/** The probe in one line, for reports. */
export function describeProbe(p: ReadyProbe): string {
  if (p.kind === "http") return `http GET ${p.url} -> ${p.status ? p.status.join("|") : "2xx/3xx"}`;
  if (p.kind === "tcp") return `tcp ${p.host}:${p.port} accepts a connection`;
  return `log line matches /${p.pattern.source}/`;
}

async function probeHttp(url: string, status: readonly number[] | undefined): Promise<{ ok: boolean; observed: string }> {
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    const ok = status ? status.includes(res.status) : res.status >= 200 && res.status < 400;
    return { ok, observed: `status ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, observed: e.cause?.code ?? e.message };
  }
}

/** One TCP connection attempt to `host:port` (1 s limit). */
export function probeTcp(host: string, port: number): Promise<{ ok: boolean; observed: string }> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const end = (ok: boolean, observed: string): void => {
      s.destroy();
      resolve({ ok, observed });
    };
    s.setTimeout(1000, () => end(false, "connect timed out"));
    s.once("connect", () => end(true, "connected"));
    s.once("error", (err: NodeJS.ErrnoException) => end(false, err.code ?? err.message));
  });
}

/** Reads what was appended to a log file since the last call and tests complete lines against a pattern. */
class LogWatcher {
  private offset = 0;
  private partial = "";
  constructor(private readonly file: string, private readonly pattern: RegExp) {}
  async poll(): Promise<{ ok: boolean; observed: string }> {
    let fh;
    try {
      fh = await open(this.file, "r");
    } catch {
      return { ok: false, observed: "no output yet" };
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const lines = (this.partial + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
        this.partial = lines.pop() ?? "";
        const hit = lines.find((l) => this.pattern.test(l));
        if (hit !== undefined) return { ok: true, observed: hit.trim().slice(0, 200) };
      }
      // A last line without a newline counts too (a "listening" message without \n).
      if (this.pattern.test(this.partial)) return { ok: true, observed: this.partial.trim().slice(0, 200) };
      return { ok: false, observed: `no matching line in ${this.offset} bytes of output` };
    } finally {
      await fh.close();
    }
  }
}

/** Waits until `probe` succeeds, `app` exits, `signal` aborts or `timeoutMs` passes. */
export async function waitReady(probe: ReadyProbe, opts: { readonly app: AppProcess; readonly logFile: string; readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<ReadyResult> {
  const started = Date.now();
  const watcher = probe.kind === "log" ? new LogWatcher(opts.logFile, probe.pattern) : undefined;
  let observed = "not probed yet";
  for (;;) {
    const afterMs = Date.now() - started;
    if (opts.signal?.aborted) return { ready: false, reason: "interrupted", afterMs, observed };
    const r = probe.kind === "http" ? await probeHttp(probe.url, probe.status) : probe.kind === "tcp" ? await probeTcp(probe.host, probe.port) : await watcher!.poll();
    observed = r.observed;
    if (r.ok) return { ready: true, afterMs: Date.now() - started, observed };
    if (opts.app.exit) {
      const e = opts.app.spawnError ? `could not start: ${opts.app.spawnError.message}` : opts.app.exit.signal ? `killed by signal ${opts.app.exit.signal}` : `exit status ${opts.app.exit.code}`;
      return { ready: false, reason: "exited", afterMs: Date.now() - started, observed: `the application ended before it was ready (${e}); last probe: ${observed}` };
    }
    if (Date.now() - started >= opts.timeoutMs) return { ready: false, reason: "timeout", afterMs: Date.now() - started, observed: `not ready within ${opts.timeoutMs} ms; last probe: ${observed}` };
    try {
      await sleep(100, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      // aborted: reported at the top of the loop
    }
  }
}

/** The last `bytes` (default 4 KiB) of a log file as text, trimmed; "" when it does not exist. */
export async function logTail(file: string, bytes = 4096): Promise<string> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString("utf8").trim();
  } finally {
    await fh.close();
  }
}
