/**
 * A small, documented subset of JSONPath (RFC 9535) that selects ONE value,
 * plus the expectation syntax of compare.ts, for `http` checks such as
 * `$.handle == "alice.test"` or `$.data[0].id exists`.
 *
 * Why a subset and not a library: drills only need to point at one value,
 * and a few dozen lines with no `eval` are easier to trust than a full
 * JSONPath engine (filter expressions are where such engines had code
 * execution bugs).
 *
 *     path     := "$" segment*
 *     segment  := "." name                   member:      $.handle
 *               | "[" integer "]"            array index: $.items[0]; negative from the end: $.items[-1]
 *               | "[" quoted-string "]"      member with any characters: $['content-type'], $["a b"]
 *     name     := [A-Za-z_$][A-Za-z0-9_$-]*
 *
 * `.length` of an array or a string is its length (when it has no member
 * of that name). A path that leads nowhere selects nothing (`undefined`),
 * which only `!exists` accepts. Wildcards, slices, filters and recursive
 * descent are not supported: they select lists, not one value.
 */
import { ExpectationSyntaxError, parseExpectation, type Expectation } from "./compare.js";

/** One step of a path: a member name or an array index. */
export type PathSegment = { readonly kind: "member"; readonly name: string } | { readonly kind: "index"; readonly index: number };

/** A parsed path with its text. */
export interface JsonPath {
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** A parsed `PATH expectation` line. */
export interface JsonPathExpectation {
  readonly text: string;
  readonly path: JsonPath;
  readonly expectation: Expectation;
}

/** A malformed path or expectation; `position` is the 0-based character index. */
export class JsonPathSyntaxError extends ExpectationSyntaxError {}

const NAME_START = /[A-Za-z_$]/;
const NAME_CHAR = /[A-Za-z0-9_$-]/;

/** Reads a path at the start of `text`; returns it and where it ended. */
function scanPath(text: string): { path: JsonPath; end: number } {
  const fail = (msg: string, at: number): never => {
    throw new JsonPathSyntaxError(`malformed JSON path at character ${at + 1}: ${msg}`, at);
  };
  let i = text.length - text.trimStart().length;
  const start = i;
  if (text[i] !== "$") fail(`a path starts with $ (got ${JSON.stringify(text.slice(i, i + 10) || "nothing")})`, i);
  i++;
  const segments: PathSegment[] = [];
  while (i < text.length) {
    const c = text[i];
    if (c === ".") {
      i++;
      if (text[i] === ".") fail("recursive descent (..) is not supported; name each member", i - 1);
      if (text[i] === "*") fail("wildcards (*) are not supported: a check compares one value", i);
      if (!NAME_START.test(text[i] ?? "")) fail("expected a member name after '.'", i);
      const s = i;
      while (i < text.length && NAME_CHAR.test(text[i]!)) i++;
      segments.push({ kind: "member", name: text.slice(s, i) });
    } else if (c === "[") {
      i++;
      const q = text[i];
      if (q === '"' || q === "'") {
        let j = i + 1;
        let raw = "";
        while (j < text.length && text[j] !== q) {
          if (text[j] === "\\") {
            raw += text.slice(j, j + 2);
            j += 2;
          } else raw += text[j++];
        }
        if (j >= text.length) fail(`unterminated string (missing ${q})`, i);
        let name: string;
        try {
          name = q === '"' ? (JSON.parse(`"${raw}"`) as string) : raw.replace(/\\(.)/g, "$1");
        } catch {
          return fail("invalid escape in the member name", i);
        }
        i = j + 1;
        segments.push({ kind: "member", name });
      } else {
        const m = /^-?\d+/.exec(text.slice(i));
        if (!m) {
          if (q === "*") fail("wildcards ([*]) are not supported: a check compares one value", i);
          if (q === "?") fail("filter expressions ([?...]) are not supported", i);
          fail("expected an array index (0, -1) or a quoted member name inside [ ]", i);
        }
        if (text[i + m![0].length] === ":") fail("slices ([a:b]) are not supported", i + m![0].length);
        segments.push({ kind: "index", index: Number(m![0]) });
        i += m![0].length;
      }
      if (text[i] !== "]") fail("expected ]", i);
      i++;
    } else break;
  }
  return { path: { text: text.slice(start, i), segments }, end: i };
}

/**
 * Parses a path alone (`$.a.b[0]`).
 * @throws JsonPathSyntaxError (message and position of the first problem).
 */
export function parseJsonPath(text: string): JsonPath {
  const { path, end } = scanPath(text);
  if (text.slice(end).trim() !== "") {
    throw new JsonPathSyntaxError(`malformed JSON path at character ${end + 1}: unexpected ${JSON.stringify(text.slice(end).trim().slice(0, 10))}`, end);
  }
  return path;
}

/**
 * Parses `PATH expectation`, e.g. `$.handle == "alice.test"`, `$.items.length >= 3`, `$.error !exists`.
 * @throws JsonPathSyntaxError (message and position of the first problem).
 */
export function parseJsonPathExpectation(text: string): JsonPathExpectation {
  const { path, end } = scanPath(text);
  const rest = text.slice(end);
  if (rest.trim() !== "" && !/^\s/.test(rest) && !/^[!=<>]/.test(rest)) {
    throw new JsonPathSyntaxError(`malformed JSON path at character ${end + 1}: unexpected ${JSON.stringify(rest.slice(0, 10))}`, end);
  }
  try {
    return { text, path, expectation: parseExpectation(rest, end) };
  } catch (err) {
    if (err instanceof ExpectationSyntaxError) throw new JsonPathSyntaxError(`${err.message} (at character ${err.position + 1})`, err.position);
    throw err;
  }
}

/** The value `path` selects in `root`, or `undefined` when it leads nowhere. */
export function evaluateJsonPath(root: unknown, path: JsonPath): unknown {
  let v: unknown = root;
  for (const seg of path.segments) {
    if (v === null || v === undefined) return undefined;
    if (seg.kind === "index") {
      if (!Array.isArray(v)) return undefined;
      const i = seg.index < 0 ? v.length + seg.index : seg.index;
      v = v[i];
    } else if (typeof v === "object" && Object.hasOwn(v, seg.name)) {
      v = (v as Record<string, unknown>)[seg.name];
    } else if (seg.name === "length" && (Array.isArray(v) || typeof v === "string")) {
      v = v.length;
    } else return undefined;
  }
  return v;
}
