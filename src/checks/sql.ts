/**
 * `sql` check: a query on a restored SQLite database, opened read-only
 * (better-sqlite3, `readonly: true`, so a check can never change the
 * data), with an expectation on the first column of the first row (a
 * scalar such as `SELECT count(*) FROM acl`) and/or on the number of rows.
 */
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { describeExpectation, formatValue, satisfies } from "./compare.js";
import type { CheckAssertion, CheckContext, CheckOutcome, SqlCheckSpec } from "./types.js";

/** Runs a `sql` check. Never throws: a missing database, table or column is a failed check with `detail`. */
export function runSqlCheck(spec: SqlCheckSpec, ctx: Pick<CheckContext, "cwd">): CheckOutcome {
  const started = performance.now();
  const parts = [spec.query];
  if (spec.expect) parts.push(`value ${describeExpectation(spec.expect)}`);
  if (spec.rows) parts.push(`rows ${describeExpectation(spec.rows)}`);
  const expected = parts.join("; ");
  const path = resolve(ctx.cwd, spec.db);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const stmt = db.prepare(spec.query);
    if (!stmt.reader) throw new Error("the query returns no rows (a check only reads: use a SELECT)");
    const rows = stmt.raw(true).all() as unknown[][];
    const assertions: CheckAssertion[] = [];
    const first = rows[0]?.[0];
    if (spec.expect) assertions.push({ what: `value ${describeExpectation(spec.expect)}`, ok: satisfies(first, spec.expect), observed: formatValue(first) });
    if (spec.rows) assertions.push({ what: `rows ${describeExpectation(spec.rows)}`, ok: satisfies(rows.length, spec.rows), observed: String(rows.length) });
    if (assertions.length === 0) assertions.push({ what: "query runs", ok: true, observed: `${rows.length} row(s)` });
    const failed = assertions.find((a) => !a.ok);
    return {
      ok: !failed, expected,
      observed: failed ? `${failed.what}: got ${failed.observed}` : assertions.map((a) => a.observed).join(", "),
      assertions, durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    const why = `${path}: ${(err as Error).message}`;
    return { ok: false, expected, observed: `query failed: ${why}`, assertions: [], detail: why, durationMs: Math.round(performance.now() - started) };
  } finally {
    db?.close();
  }
}
