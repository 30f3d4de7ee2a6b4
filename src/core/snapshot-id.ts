/**
 * Snapshot ids that sort by time, and snapshot selectors.
 *
 * Id: `YYYYMMDDTHHMMSSZ-xxxxxxxx` — the UTC creation time in ISO 8601 basic
 * format (ISO 8601-1:2019 §5.4.2), whole seconds, then 8 lower-case hex
 * digits of randomness so two snapshots in the same second differ. Plain
 * string order is time order.
 *
 * Selector (what `restore`, `drill`, `verify` accept):
 *   `latest`                    the newest snapshot
 *   `latest-before:<ISO 8601>`  the newest snapshot taken at or before that time
 *   `<id or id prefix>`         e.g. `20261122T0244` or a full id
 */
import { random, toHex } from "./crypto.js";
import { ConfigError, NotFoundError } from "./errors.js";

/** Parsed snapshot id. */
export interface ParsedSnapshotId {
  /** UTC time in ms since the epoch (a whole second). */
  timeMs: number;
  /** The 8 lower-case hex digits after the dash. */
  suffix: string;
}

/** What a selector names. `timeMs` is UTC ms since the epoch. */
export type Selector = { kind: "latest" } | { kind: "latest-before"; timeMs: number } | { kind: "id"; prefix: string };

/** The fields of a snapshot that selectors look at. */
export interface SelectableSnapshot {
  readonly id: string;
  readonly timeMs: number;
  readonly tags: readonly string[];
}

const ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([0-9a-f]{8})$/;
/** 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z: what four year digits can hold. */
const MIN_TIME_MS = 0;
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const pad = (n: number, w: number): string => String(n).padStart(w, "0");

function formatBasic(timeMs: number): string {
  const d = new Date(timeMs);
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    "T" +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2) +
    "Z"
  );
}

/**
 * A new snapshot id for `timeMs` (UTC ms since the epoch; milliseconds are dropped).
 * @param randomBytes at least 4 bytes for the suffix (default: 4 cryptographically random bytes).
 * @throws ConfigError when `timeMs` is outside 1970..9999 or `randomBytes` is shorter than 4.
 */
export function newSnapshotId(timeMs: number, randomBytes: Uint8Array = random(4)): string {
  if (!Number.isFinite(timeMs) || timeMs < MIN_TIME_MS || timeMs > MAX_TIME_MS) {
    throw new ConfigError(`snapshot time must be between 1970 and 9999 (UTC), got ${timeMs} ms`, { field: "timeMs" });
  }
  if (randomBytes.length < 4) throw new ConfigError(`snapshot id suffix needs 4 random bytes, got ${randomBytes.length}`, { field: "random" });
  return `${formatBasic(Math.floor(timeMs))}-${toHex(randomBytes.subarray(0, 4))}`;
}

/**
 * Parses a snapshot id.
 * @throws ConfigError when `id` is not `YYYYMMDDTHHMMSSZ-xxxxxxxx` with a real UTC date and time.
 */
export function parseSnapshotId(id: string): ParsedSnapshotId {
  const m = ID_RE.exec(id);
  if (m) {
    const [, y, mo, d, h, mi, s, suffix] = m;
    const timeMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    // Round trip rejects 20261332, 25:00, years below 1970 (Date.UTC maps 0-99 to 19xx), etc.
    if (timeMs >= MIN_TIME_MS && formatBasic(timeMs) === id.slice(0, 16)) return { timeMs, suffix: suffix! };
  }
  throw new ConfigError(`not a snapshot id: ${JSON.stringify(id)} (expected YYYYMMDDTHHMMSSZ-xxxxxxxx, UTC, 8 lower-case hex digits)`, {
    field: "snapshot",
    value: id,
  });
}

/** True when `id` is a well-formed snapshot id. */
export function isSnapshotId(id: string): boolean {
  try {
    parseSnapshotId(id);
    return true;
  } catch {
    return false;
  }
}

const EXT_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const BASIC_TIME_RE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?:\d{2})?)?$/;

/**
 * Parses an ISO 8601 date or date-time (extended `2026-11-22T02:44:36Z` or
 * basic `20261122T024436Z`), with `Z`, a `±HH[:MM]` offset, or no zone
 * (then UTC: restorable works in UTC throughout). A date alone means 00:00.
 * @returns UTC ms since the epoch.
 * @throws ConfigError on anything else, or an impossible date or time.
 */
export function parseIsoTime(text: string): number {
  const m = EXT_TIME_RE.exec(text) ?? BASIC_TIME_RE.exec(text);
  const bad = (): never => {
    throw new ConfigError(`not an ISO 8601 time: ${JSON.stringify(text)} (expected e.g. 2026-11-22T02:44:36Z or 2026-11-22)`, { value: text });
  };
  if (!m) return bad();
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m;
  const Y = Number(y), Mo = Number(mo), D = Number(d), H = Number(h), Mi = Number(mi), S = Number(s);
  if (Mo < 1 || Mo > 12 || D < 1 || H > 23 || Mi > 59 || S > 59) return bad();
  const day = new Date(Date.UTC(2000, Mo - 1, D));
  day.setUTCFullYear(Y);
  if (day.getUTCMonth() !== Mo - 1 || day.getUTCDate() !== D) return bad();
  const ms = Math.floor(Number(`0.${frac || "0"}`) * 1000);
  let offsetMin = 0;
  if (zone !== "Z") {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3).replace(":", "") || "0");
    if (zh > 23 || zm > 59) return bad();
    offsetMin = (zone[0] === "-" ? -1 : 1) * (zh * 60 + zm);
  }
  return day.getTime() + ((H * 60 + Mi) * 60 + S) * 1000 + ms - offsetMin * 60_000;
}

const PREFIX_RE = /^[0-9a-fTZ-]{1,25}$/;

/**
 * Parses a snapshot selector (`latest`, `latest-before:<ISO 8601 time>`, or an id prefix).
 * @throws ConfigError naming what was expected.
 */
export function parseSelector(text: string): Selector {
  const t = text.trim();
  if (t === "latest") return { kind: "latest" };
  if (t.startsWith("latest-before:")) return { kind: "latest-before", timeMs: parseIsoTime(t.slice("latest-before:".length)) };
  if (PREFIX_RE.test(t)) return { kind: "id", prefix: t };
  throw new ConfigError(
    `not a snapshot selector: ${JSON.stringify(text)} (expected "latest", "latest-before:<ISO 8601 time>", or a snapshot id or its prefix such as 20261122T0244)`,
    { field: "snapshot", value: text },
  );
}

/** Newest first: by time, then by id. */
function newerFirst(a: SelectableSnapshot, b: SelectableSnapshot): number {
  return b.timeMs - a.timeMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Time a prefix of an id stands for: the digits it has, the rest filled with
 * the earliest value (`2026` -> 2026-01-01T00:00:00Z). Undefined when the
 * prefix does not start like a time.
 */
function prefixTime(prefix: string): number | undefined {
  const digits = prefix.replace("T", "").replace(/Z.*$/, "").slice(0, 14);
  if (!/^\d{4,14}$/.test(digits)) return undefined;
  const f = digits.padEnd(14, "0");
  const t = Date.UTC(+f.slice(0, 4), Math.max(1, +f.slice(4, 6)) - 1, Math.max(1, +f.slice(6, 8)), +f.slice(8, 10), +f.slice(10, 12), +f.slice(12, 14));
  return Number.isFinite(t) ? t : undefined;
}

/** Up to 3 snapshot ids nearest to `timeMs` (or the newest 3 when undefined), nearest first. */
function nearest(snapshots: readonly SelectableSnapshot[], timeMs: number | undefined): string[] {
  const list = [...snapshots];
  if (timeMs === undefined) list.sort(newerFirst);
  else list.sort((a, b) => Math.abs(a.timeMs - timeMs) - Math.abs(b.timeMs - timeMs) || newerFirst(a, b));
  return list.slice(0, 3).map((s) => s.id);
}

function describe(selector: Selector): string {
  switch (selector.kind) {
    case "latest":
      return "latest";
    case "latest-before":
      return `latest-before:${new Date(selector.timeMs).toISOString()}`;
    case "id":
      return selector.prefix;
  }
}

/**
 * Picks the snapshot a selector names among `snapshots`, keeping only those
 * that carry every tag in `opts.tags`.
 * - `latest`: the newest (by `timeMs`, then id);
 * - `latest-before:T`: the newest with `timeMs <= T`;
 * - id prefix: the snapshot whose id starts with it (an exact id always wins).
 * @throws NotFoundError when nothing matches; the message lists up to 3
 *   nearest snapshot ids by time (`details.nearest`).
 * @throws ConfigError when a prefix matches several snapshots (lists them, `details.candidates`).
 */
export function resolveSelector<S extends SelectableSnapshot>(selector: Selector, snapshots: readonly S[], opts: { tags?: readonly string[] } = {}): S {
  const tags = opts.tags ?? [];
  const pool = tags.length === 0 ? snapshots : snapshots.filter((s) => tags.every((t) => s.tags.includes(t)));
  let found: S | undefined;
  let near: number | undefined;
  switch (selector.kind) {
    case "latest":
      found = [...pool].sort(newerFirst)[0];
      break;
    case "latest-before":
      found = pool.filter((s) => s.timeMs <= selector.timeMs).sort(newerFirst)[0];
      near = selector.timeMs;
      break;
    case "id": {
      const matches = pool.filter((s) => s.id.startsWith(selector.prefix));
      found = matches.find((s) => s.id === selector.prefix) ?? (matches.length === 1 ? matches[0] : undefined);
      if (!found && matches.length > 1) {
        const candidates = matches.sort(newerFirst).map((s) => s.id);
        const shown = candidates.slice(0, 10).join(", ") + (candidates.length > 10 ? `, and ${candidates.length - 10} more` : "");
        throw new ConfigError(`snapshot prefix ${JSON.stringify(selector.prefix)} is ambiguous: it matches ${candidates.length} snapshots (${shown})`, {
          field: "snapshot",
          candidates,
        });
      }
      near = prefixTime(selector.prefix);
      break;
    }
  }
  if (found) return found;
  const tagNote = tags.length > 0 ? ` with tags [${tags.join(", ")}]` : "";
  const hintPool = pool.length > 0 ? pool : snapshots;
  const ids = nearest(hintPool, near);
  const hint =
    ids.length === 0
      ? "the repository has no snapshots"
      : `${pool.length === 0 ? `no snapshot carries tags [${tags.join(", ")}]; ` : ""}nearest by time: ${ids.join(", ")}`;
  throw new NotFoundError(`no snapshot matches ${describe(selector)}${tagNote} (${hint})`, { selector: describe(selector), tags, nearest: ids });
}
