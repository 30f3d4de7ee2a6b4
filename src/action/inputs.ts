/**
 * Typed reading of action inputs. The runner passes each `with:` input as
 * an environment variable `INPUT_<NAME>` (name upper-cased, spaces turned to
 * `_`; docs: "Metadata syntax for GitHub Actions", `inputs.<input_id>`);
 * `@actions/core`'s `getInput` reads and trims it, and an input left out is
 * the empty string. Every reader here turns that string into a typed value
 * or throws a ConfigError whose message names the input and the accepted
 * values, so an action fails before it touches the repository.
 */
import * as core from "@actions/core";
import { parseDuration } from "../config/duration.js";
import { ConfigError } from "../core/errors.js";

/** Returns the raw (trimmed) value of an input, `""` when it was not given. */
export type InputGetter = (name: string) => string;

/** The runner's inputs, through `@actions/core`. */
export const runnerInputs: InputGetter = (name) => core.getInput(name);

/** An InputGetter over a plain object (tests, and tools that call the actions' code directly). */
export function inputsFrom(values: Readonly<Record<string, string | undefined>>): InputGetter {
  return (name) => (values[name] ?? "").trim();
}

/** Spellings accepted for booleans: the YAML 1.2 core schema's, as `core.getBooleanInput` accepts them. */
const TRUE = ["true", "True", "TRUE"];
const FALSE = ["false", "False", "FALSE"];

function bad(name: string, expected: string, got: string): ConfigError {
  return new ConfigError(`input "${name}": expected ${expected}, got ${JSON.stringify(got)}`, { field: name, input: name });
}

/** Typed readers over one InputGetter. Each throws ConfigError naming the input and what it accepts. */
export class InputReader {
  constructor(private readonly get: InputGetter) {}

  /** The raw value, or undefined when the input is empty. */
  optional(name: string): string | undefined {
    const v = this.get(name);
    return v === "" ? undefined : v;
  }

  /**
   * A non-empty string.
   * @throws ConfigError `input "<name>" is required: <hint>` when empty.
   */
  required(name: string, hint: string): string {
    const v = this.get(name);
    if (v === "") throw new ConfigError(`input "${name}" is required: ${hint}`, { field: name, input: name });
    return v;
  }

  /**
   * `true` or `false` (also `True`/`TRUE`/`False`/`FALSE`); `fallback` when empty.
   * @throws ConfigError naming the accepted values.
   */
  boolean(name: string, fallback: boolean): boolean {
    const v = this.get(name);
    if (v === "") return fallback;
    if (TRUE.includes(v)) return true;
    if (FALSE.includes(v)) return false;
    throw bad(name, "true or false", v);
  }

  /**
   * One of `values`; `fallback` when empty.
   * @throws ConfigError listing `values`.
   */
  choice<const T extends string>(name: string, values: readonly T[], fallback: T): T;
  choice<const T extends string>(name: string, values: readonly T[]): T | undefined;
  choice<const T extends string>(name: string, values: readonly T[], fallback?: T): T | undefined {
    const v = this.get(name);
    if (v === "") return fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    throw bad(name, `one of ${values.join(", ")}`, v);
  }

  /**
   * A whole number in [min, max]; `fallback` when empty.
   * @throws ConfigError naming the range.
   */
  integer(name: string, range: { readonly min: number; readonly max: number }, fallback?: number): number | undefined {
    const v = this.get(name);
    if (v === "") return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < range.min || n > range.max) throw bad(name, `a whole number from ${range.min} to ${range.max}`, v);
    return n;
  }

  /**
   * A duration in ms (`30s`, `5min`, `26h`, `7d`, or a number of seconds; src/config/duration.ts); undefined when empty.
   * @throws ConfigError naming the accepted forms.
   */
  duration(name: string): number | undefined {
    const v = this.get(name);
    if (v === "") return undefined;
    try {
      return parseDuration(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v);
    } catch {
      throw bad(name, "a duration such as 30s, 5min, 26h or 7d (or a number of seconds)", v);
    }
  }

  /**
   * An ISO 8601 time; undefined when empty.
   * @throws ConfigError naming the accepted form.
   */
  time(name: string): Date | undefined {
    const v = this.get(name);
    if (v === "") return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(v) ? Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) : NaN;
    if (!Number.isFinite(ms)) throw bad(name, "an ISO 8601 time with a zone, such as 2026-11-22T03:00:00Z (or a date, meaning 00:00 UTC)", v);
    return new Date(ms);
  }

  /** A list: one item per line, or separated by commas; blank items dropped. Empty when the input is empty. */
  list(name: string): string[] {
    return this.get(name)
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }

  /**
   * A percentage `N` or `N%` in (0, 100]; undefined when empty.
   * @throws ConfigError naming the accepted form.
   */
  percent(name: string): number | undefined {
    const v = this.get(name);
    if (v === "") return undefined;
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(v);
    const n = m ? Number(m[1]) : NaN;
    if (!(n > 0 && n <= 100)) throw bad(name, "a percentage from 0 (excluded) to 100, such as 10%", v);
    return n;
  }
}
