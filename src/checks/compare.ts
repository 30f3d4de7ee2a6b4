/**
 * Expectations shared by the drill checks: a comparison operator and a
 * literal (`== 5`, `>= 1`, `!= "x"`), or `exists` / `!exists`.
 *
 * Grammar (docs/drills.md, "Expectations"):
 *
 *     expectation := "exists" | "!exists" | OP literal
 *     OP          := "==" | "!=" | ">=" | "<=" | ">" | "<"
 *     literal     := a JSON value (RFC 8259): "double-quoted string", number, true, false, null,
 *                    [list] or {object}; or a 'single-quoted string'
 *
 * Semantics: `==`/`!=` compare numbers numerically (a JavaScript number and
 * a SQLite BigInt alike), other values structurally (JSON equality; a string
 * never equals a number). `>`, `>=`, `<`, `<=` hold only when both sides are
 * numbers, or both are strings (compared by UTF-16 code units, which orders
 * ISO 8601 times correctly); any other pair does not satisfy them.
 */

/** The comparison operators. */
export type CompareOp = "==" | "!=" | ">" | ">=" | "<" | "<=";

/** A parsed expectation. `exists` holds when the observed value is defined (not `undefined`); `null` exists. */
export type Expectation =
  | { readonly kind: "compare"; readonly op: CompareOp; readonly value: unknown }
  | { readonly kind: "exists"; readonly negated: boolean };

/** An expectation that could not be parsed; `position` is the 0-based character index in the text. */
export class ExpectationSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
    this.name = "ExpectationSyntaxError";
  }
}

const OPS: readonly CompareOp[] = ["==", "!=", ">=", "<=", ">", "<"];

/**
 * Parses `text` (after the subject, e.g. after a JSON path): `exists`, `!exists` or `OP literal`.
 * @param offset added to error positions (where `text` starts in a longer string).
 * @throws ExpectationSyntaxError naming what was expected.
 */
export function parseExpectation(text: string, offset = 0): Expectation {
  const lead = text.length - text.trimStart().length;
  const t = text.trim();
  if (t === "exists") return { kind: "exists", negated: false };
  if (t === "!exists") return { kind: "exists", negated: true };
  const op = OPS.find((o) => t.startsWith(o));
  if (!op) {
    throw new ExpectationSyntaxError(
      `expected an operator (==, !=, >, >=, <, <=) or exists, got ${t === "" ? "nothing" : JSON.stringify(t)}`,
      offset + lead,
    );
  }
  const rest = t.slice(op.length);
  return { kind: "compare", op, value: parseLiteral(rest, offset + lead + op.length) };
}

/**
 * A literal: JSON (RFC 8259), or a 'single-quoted string' (no escapes).
 * @throws ExpectationSyntaxError when `text` is neither.
 */
export function parseLiteral(text: string, offset = 0): unknown {
  const t = text.trim();
  if (t === "") throw new ExpectationSyntaxError("expected a value after the operator", offset + text.length);
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1);
  try {
    return JSON.parse(t) as unknown;
  } catch {
    throw new ExpectationSyntaxError(
      `expected a JSON value ("a string" in double quotes, a number, true, false or null), got ${t}`,
      offset + (text.length - text.trimStart().length),
    );
  }
}

function isNumeric(v: unknown): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

function numericEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === "bigint" && typeof b === "bigint") return a === b;
  return Number(a) === Number(b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) return numericEqual(a, b);
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a as object).sort();
  const kb = Object.keys(b as object).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** True when `observed OP expected` holds (semantics in the module comment). */
export function compareValues(observed: unknown, op: CompareOp, expected: unknown): boolean {
  switch (op) {
    case "==":
      return deepEqual(observed, expected);
    case "!=":
      return !deepEqual(observed, expected);
    default: {
      let c: number;
      if (isNumeric(observed) && isNumeric(expected)) {
        const a = Number(observed);
        const b = Number(expected);
        c = a < b ? -1 : a > b ? 1 : 0;
        if (Number.isNaN(a) || Number.isNaN(b)) return false;
      } else if (typeof observed === "string" && typeof expected === "string") {
        c = observed < expected ? -1 : observed > expected ? 1 : 0;
      } else return false;
      return op === ">" ? c > 0 : op === ">=" ? c >= 0 : op === "<" ? c < 0 : c <= 0;
    }
  }
}

/** True when `observed` satisfies `e`. */
export function satisfies(observed: unknown, e: Expectation): boolean {
  if (e.kind === "exists") return (observed !== undefined) !== e.negated;
  return compareValues(observed, e.op, e.value);
}

/** `== 5`, `exists`: the expectation as the user would write it. */
export function describeExpectation(e: Expectation): string {
  if (e.kind === "exists") return e.negated ? "!exists" : "exists";
  return `${e.op} ${formatValue(e.value)}`;
}

/**
 * A value for reports: JSON, with `undefined` as `(missing)`, BigInt as digits, binary data as
 * `<blob N bytes>`, and long texts cut at `max` characters (default 200) with `…`.
 */
export function formatValue(v: unknown, max = 200): string {
  let s: string;
  if (v === undefined) s = "(missing)";
  else if (typeof v === "bigint") s = v.toString();
  else if (v instanceof Uint8Array) s = `<blob ${v.length} bytes>`;
  else s = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x)) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
