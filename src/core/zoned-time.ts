/**
 * Calendar arithmetic in an IANA time zone, with nothing but `Intl`
 * (ECMA-402 `Intl.DateTimeFormat`, which reads the tz database the runtime
 * ships). Pure: no clock, no I/O. Used by the retention policy
 * (src/core/retention.ts) to put snapshots in hour/day/ISO-week/month/year
 * buckets and to subtract calendar durations the way restic does.
 *
 * Times are ms since the Unix epoch (UTC instants); "wall" values are the
 * local clock reading of an instant, encoded as if it were a UTC instant.
 */

/** The local calendar reading of an instant in a zone. `month` is 1-12. */
export interface ZonedParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Milliseconds within the second (0-999); zones never shift them. */
  readonly ms: number;
}

/** UTC, the default time zone of retention. */
export const UTC = "UTC";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * True when `timeZone` is an IANA zone name (or `UTC`) this runtime knows.
 * Offsets such as `+02:00` are refused: a fixed offset has no DST rules, so
 * it is almost always a mistake for a named zone.
 */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== "string" || timeZone === "" || /^[+-]/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The local calendar reading of `timeMs` in `timeZone`.
 * @throws RangeError for an unknown zone or a time outside the ECMAScript range.
 */
export function zonedParts(timeMs: number, timeZone: string): ZonedParts {
  const ms = ((timeMs % 1000) + 1000) % 1000;
  if (timeZone === UTC) {
    const d = new Date(timeMs);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), ms };
  }
  let year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, bc = false;
  for (const p of formatterFor(timeZone).formatToParts(timeMs)) {
    switch (p.type) {
      case "year": year = Number(p.value); break;
      case "month": month = Number(p.value); break;
      case "day": day = Number(p.value); break;
      case "hour": hour = Number(p.value); break;
      case "minute": minute = Number(p.value); break;
      case "second": second = Number(p.value); break;
      case "era": bc = p.value === "BC" || p.value === "B"; break;
      default: break;
    }
  }
  // Proleptic Gregorian: 1 BC is year 0.
  if (bc) year = 1 - year;
  return { year, month, day, hour, minute, second, ms };
}

/**
 * `Date.UTC` without its two-digit-year rule, and with JavaScript's (and
 * Go's) overflow normalisation: month 14 is February of the next year, day
 * 31 of February is early March. `month` is 1-based.
 */
export function wallToMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** Offset of `timeZone` from UTC at the instant `timeMs`, in ms (Berlin in summer: +7,200,000). */
export function zoneOffsetMs(timeMs: number, timeZone: string): number {
  if (timeZone === UTC) return 0;
  const p = zonedParts(timeMs, timeZone);
  return wallToMs(p.year, p.month, p.day, p.hour, p.minute, p.second, p.ms) - timeMs;
}

/**
 * The instant that a local wall-clock reading denotes in `timeZone`, resolved
 * exactly as Go's `time.Date` does (restic is written in Go): the offset is
 * looked up at the wall reading taken as a UTC instant, and looked up again at
 * the instant that offset gives. A reading inside a spring-forward gap and one
 * inside a fall-back overlap therefore resolve the way Go resolves them.
 */
export function wallToInstant(wallMs: number, timeZone: string): number {
  if (timeZone === UTC) return wallMs;
  const first = zoneOffsetMs(wallMs, timeZone);
  if (first === 0) return wallMs;
  return wallMs - zoneOffsetMs(wallMs - first, timeZone);
}

/** Day of the week, Monday 1 ... Sunday 7, of a civil date. */
function isoWeekday(year: number, month: number, day: number): number {
  const wd = new Date(wallToMs(year, month, day)).getUTCDay();
  return wd === 0 ? 7 : wd;
}

/**
 * ISO 8601 week of a civil date: the week (Monday to Sunday) belongs to the
 * year that holds its Thursday, so 2024-12-30 is week 1 of 2025 and
 * 2021-01-03 is week 53 of 2020.
 */
export function isoWeek(year: number, month: number, day: number): { readonly year: number; readonly week: number } {
  const thursday = new Date(wallToMs(year, month, day + 4 - isoWeekday(year, month, day)));
  const isoYear = thursday.getUTCFullYear();
  const dayOfYear = Math.round((thursday.getTime() - wallToMs(isoYear, 1, 1)) / 86_400_000);
  return { year: isoYear, week: Math.floor(dayOfYear / 7) + 1 };
}

/** A calendar duration as in restic's `--keep-within` (`1y2m3d4h`). Every field is a non-negative integer. */
export interface CalendarDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

/**
 * `timeMs` minus `d`, as restic computes `latest.AddDate(-y, -m, -d).Add(-h hours)`:
 * years, months and days move the local calendar date in `timeZone` keeping
 * the local clock time (so a day across a DST change is 23 or 25 hours);
 * the day overflows as in Go (31 March minus 1 month is 3 March, or 2 March
 * in a leap year); hours are exact hours. Returns -Infinity when the result
 * falls outside the ECMAScript time range (keep everything).
 */
export function subtractCalendar(timeMs: number, d: CalendarDuration, timeZone: string): number {
  let base = timeMs;
  if (d.years !== 0 || d.months !== 0 || d.days !== 0) {
    const p = zonedParts(timeMs, timeZone);
    const wall = wallToMs(p.year - d.years, p.month - d.months, p.day - d.days, p.hour, p.minute, p.second, p.ms);
    if (!Number.isFinite(wall)) return -Infinity;
    base = wallToInstant(wall, timeZone);
  }
  const out = base - d.hours * 3_600_000;
  return Number.isFinite(out) && Math.abs(out) <= 8.64e15 ? out : -Infinity;
}
