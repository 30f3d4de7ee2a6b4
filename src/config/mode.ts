/**
 * File modes in the `drill:` section: octal (`"0755"`, `"755"`, or an
 * unquoted YAML number such as 755 whose digits are all 0-7, read as octal
 * digits), or chmod(1)-style symbolic clauses separated by commas (`+x`,
 * `u+x`, `go-w`, `u=rwx,g=rx,o=`). As in chmod, leaving out who (`+x`)
 * means all of u, g and o (the umask is not applied). Only the rwx
 * permission bits are symbolic; setuid/setgid/sticky need the octal form.
 */

/** One symbolic clause: whom it applies to (a mask of the user/group/other rwx bits), the operator and the bits (rwx as 0o7). */
export interface ModeClause {
  readonly who: number;
  readonly op: "+" | "-" | "=";
  readonly perm: number;
}

/** A parsed mode. */
export type ParsedMode = { readonly kind: "exact"; readonly bits: number } | { readonly kind: "symbolic"; readonly clauses: readonly ModeClause[] };

/** A mode that could not be parsed; the message says what is accepted. */
export class ModeSyntaxError extends Error {}

const WHO: Readonly<Record<string, number>> = { u: 0o700, g: 0o070, o: 0o007, a: 0o777 };

/**
 * Parses a mode (module comment).
 * @throws ModeSyntaxError naming the accepted forms.
 */
export function parseMode(value: string | number): ParsedMode {
  const text = typeof value === "number" ? String(value) : value.trim();
  if (/^0?[0-7]{3,4}$/.test(text) || /^0o[0-7]{3,4}$/.test(text)) {
    return { kind: "exact", bits: parseInt(text.replace(/^0o/, ""), 8) & 0o7777 };
  }
  const clauses: ModeClause[] = [];
  for (const clause of text.split(",")) {
    const m = /^([ugoa]*)([+\-=])([rwx]*)$/.exec(clause);
    if (!m) throw new ModeSyntaxError(`expected an octal mode such as "0755" or symbolic clauses such as "+x", "u+x" or "go-w", got ${JSON.stringify(value)}`);
    const who = [...(m[1] || "a")].reduce((acc, c) => acc | WHO[c]!, 0);
    const perm = (m[3]!.includes("r") ? 4 : 0) | (m[3]!.includes("w") ? 2 : 0) | (m[3]!.includes("x") ? 1 : 0);
    clauses.push({ who, op: m[2] as ModeClause["op"], perm });
  }
  return { kind: "symbolic", clauses };
}

/** The rwx bits of `perm` (0o7) spread to every class in `who`. */
function spread(who: number, perm: number): number {
  return who & (perm * 0o111);
}

/** The mode `mode` becomes after applying `parsed` (chmod semantics, no umask). */
export function applyMode(mode: number, parsed: ParsedMode): number {
  if (parsed.kind === "exact") return parsed.bits;
  let m = mode & 0o7777;
  for (const c of parsed.clauses) {
    const bits = spread(c.who, c.perm);
    if (c.op === "+") m |= bits;
    else if (c.op === "-") m &= ~bits;
    else m = (m & ~c.who) | bits;
  }
  return m;
}

/**
 * For checks: the bits a mode requires. `exact` for an octal mode; `has` for symbolic clauses that only
 * add bits (`+x`, `u+rx`).
 * @throws ModeSyntaxError for symbolic clauses with `-` or `=` (not a requirement a file can be checked against).
 */
export function requiredBits(parsed: ParsedMode): { exact?: number; has?: number } {
  if (parsed.kind === "exact") return { exact: parsed.bits };
  let has = 0;
  for (const c of parsed.clauses) {
    if (c.op !== "+") throw new ModeSyntaxError("a check's symbolic mode may only require bits (+x, u+rx); use an octal mode for an exact match");
    has |= spread(c.who, c.perm);
  }
  return { has };
}
