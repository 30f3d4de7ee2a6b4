/** Argument parsers shared by commands; each throws ConfigError naming the option. */
import { ConfigError } from "../core/errors.js";
import { parseIsoTime } from "../core/snapshot-id.js";

/** Commander accumulator for repeatable options (`--tag a --tag b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--read-data-subset`: `N%` or `N`, 0 < N <= 100. */
export function parsePercent(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 100)) throw new ConfigError(`${option}: expected a percentage above 0 and at most 100 such as 10%, got "${text}"`, { field: option });
  return n;
}

/** An ISO 8601 time option (`--time`) as a Date. */
export function parseTimeOption(text: string, option: string): Date {
  try {
    return new Date(parseIsoTime(text));
  } catch (err) {
    throw new ConfigError(`${option}: ${(err as Error).message}`, { field: option, value: text });
  }
}
