/**
 * `http` check: one request (Node's fetch), then assertions on the status,
 * on values selected by JSON paths (json-path.ts) and on substrings of the
 * body. Every assertion is evaluated and reported with its observed value,
 * also after the first failure.
 */
import { performance } from "node:perf_hooks";
import { describeExpectation, formatValue, satisfies } from "./compare.js";
import { evaluateJsonPath } from "./json-path.js";
import type { CheckAssertion, CheckContext, CheckOutcome, HttpCheckSpec } from "./types.js";

/** Most bytes of a response body read for assertions (larger bodies are cut here). */
export const HTTP_BODY_LIMIT = 8 * 1024 * 1024;

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Uint8Array>) {
    chunks.push(c);
    n += c.length;
    if (n >= HTTP_BODY_LIMIT) break;
  }
  return Buffer.concat(chunks).subarray(0, HTTP_BODY_LIMIT).toString("utf8");
}

/** What the check expects, in one line. */
function expectedLine(spec: HttpCheckSpec): string {
  const parts = [`${spec.method} ${spec.url} -> status ${spec.status.join("|")}`];
  for (const e of spec.expect) parts.push(e.text);
  for (const c of spec.contains) parts.push(`body contains ${JSON.stringify(c)}`);
  return parts.join("; ");
}

/**
 * Runs an `http` check. Never throws: a failed connection or a timeout is a failed check
 * whose `detail` says why.
 */
export async function runHttpCheck(spec: HttpCheckSpec, ctx: Pick<CheckContext, "signal">): Promise<CheckOutcome> {
  const started = performance.now();
  const expected = expectedLine(spec);
  const signals = [AbortSignal.timeout(spec.timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
  let res: Response;
  let body: string;
  try {
    res = await fetch(spec.url, {
      method: spec.method, headers: { ...spec.headers }, redirect: "manual",
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      signal: AbortSignal.any(signals),
    });
    body = await readLimited(res);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === "TimeoutError" ? `no answer within ${spec.timeoutMs} ms` : e.cause?.code ? `${e.cause.code} (${e.cause.message ?? e.message})` : e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message;
    return { ok: false, expected, observed: `request failed: ${why}`, assertions: [], detail: why, durationMs: Math.round(performance.now() - started) };
  }
  const assertions: CheckAssertion[] = [
    { what: `status ${spec.status.join("|")}`, ok: spec.status.includes(res.status), observed: String(res.status) },
  ];
  if (spec.expect.length > 0) {
    let json: unknown;
    let parseError: string | undefined;
    try {
      json = JSON.parse(body) as unknown;
    } catch (err) {
      parseError = `the body is not JSON (${(err as Error).message}): ${formatValue(body, 120)}`;
    }
    for (const e of spec.expect) {
      if (parseError !== undefined) {
        assertions.push({ what: e.text, ok: false, observed: parseError });
        continue;
      }
      const v = evaluateJsonPath(json, e.path);
      assertions.push({ what: `${e.path.text} ${describeExpectation(e.expectation)}`, ok: satisfies(v, e.expectation), observed: formatValue(v) });
    }
  }
  for (const c of spec.contains) {
    assertions.push({ what: `body contains ${JSON.stringify(c)}`, ok: body.includes(c), observed: body.includes(c) ? "found" : `not found in ${body.length} characters: ${formatValue(body, 120)}` });
  }
  const failed = assertions.find((a) => !a.ok);
  return {
    ok: !failed, expected,
    observed: failed ? `${failed.what}: got ${failed.observed}` : assertions.map((a) => `${a.what.split(" ")[0]}=${a.observed}`).join(", "),
    assertions, durationMs: Math.round(performance.now() - started),
  };
}
