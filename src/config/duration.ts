/**
 * Durations of the `drill:` section (timeouts, RTO and RPO budgets):
 * a number of seconds, or a string of one or more `<number><unit>` parts
 * with the units `ms`, `s`, `min`, `h`, `d` (`500ms`, `30s`, `5min`,
 * `1h30min`, `26h`, `7d`). A bare `m` is refused on purpose: the
 * `retention:` section of the same file uses restic's durations, where `m`
 * means months, so `5m` would mean two different things in one file.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration that could not be parsed; the message says what is accepted. */
export class DurationSyntaxError extends Error {}

/**
 * Milliseconds in `value` (see the module comment).
 * @throws DurationSyntaxError naming the accepted forms.
 */
export function parseDuration(value: number | string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new DurationSyntaxError(`expected a non-negative number of seconds, got ${value}`);
    return Math.round(value * 1000);
  }
  const text = value.trim();
  const part = /(\d+(?:\.\d+)?)(ms|min|s|h|d|m)(?![a-z])/gy;
  let total = 0;
  let end = 0;
  let parts = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    if (m[2] === "m") throw new DurationSyntaxError(`"${value}": write minutes as "min" (e.g. 5min); "m" is ambiguous (retention: uses it for months)`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = part.lastIndex;
    parts++;
  }
  if (parts === 0 || end !== text.length) {
    throw new DurationSyntaxError(`expected a duration such as 500ms, 30s, 5min, 1h30min, 26h or 7d (or a number of seconds), got ${JSON.stringify(value)}`);
  }
  return Math.round(total);
}
