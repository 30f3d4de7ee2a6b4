/**
 * From what the user gave (a location and a secret, through flags, the
 * environment or restorable.yml) to an open Repository. Used by every CLI
 * command and by the GitHub action, so nothing here reads `process`: the
 * environment and the working directory are passed in.
 *
 * Location: `--repo`, else RESTORABLE_REPOSITORY, else `repository:` of
 * restorable.yml. Secret, first found wins: `--password-file`,
 * RESTORABLE_KEY (raw key, hex or base64), RESTORABLE_PASSWORD,
 * RESTORABLE_PASSWORD_FILE.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ConfigError } from "../core/errors.js";
import { parseRawKey, type Secret } from "../core/keyslot.js";
import type { LockTiming } from "../repo/lock.js";
import { Repository, type InitOptions } from "../repo/repository.js";
import { openStore } from "../store/open.js";
import type { StoreCapabilities } from "../store/probe.js";
import type { ObjectStore } from "../store/types.js";

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where the repository is and how to open it. */
export interface OpenInputs {
  /** `--repo`, when given. */
  readonly repo?: string;
  /** `--password-file`, when given (relative to `cwd`). */
  readonly passwordFile?: string;
  /** `repository:` from restorable.yml, already absolute (see configRepository). */
  readonly configRepository?: string;
  readonly env: Env;
  readonly cwd: string;
}

/** An open repository and its store; `close()` releases the store. */
export interface OpenedRepository {
  readonly repo: Repository;
  readonly store: ObjectStore;
  readonly location: string;
  /** Missing store capabilities the safety argument relies on (see capabilityWarnings). */
  readonly warnings: string[];
  close(): Promise<void>;
}

const SECRET_SOURCES = "--password-file, RESTORABLE_PASSWORD, RESTORABLE_PASSWORD_FILE or RESTORABLE_KEY";

/**
 * The repository location.
 * @throws ConfigError naming `--repo`, RESTORABLE_REPOSITORY and `repository:` when none is set.
 */
export function resolveLocation(inputs: Pick<OpenInputs, "repo" | "configRepository" | "env" | "cwd">): string {
  const fromFlagOrEnv = inputs.repo ?? (inputs.env.RESTORABLE_REPOSITORY || undefined);
  if (fromFlagOrEnv !== undefined) {
    const t = fromFlagOrEnv.trim();
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(t) || t === "" ? t : resolve(inputs.cwd, t);
  }
  if (inputs.configRepository) return inputs.configRepository;
  throw new ConfigError("no repository given: use --repo, set RESTORABLE_REPOSITORY, or put repository: in restorable.yml", { field: "repository" });
}

/**
 * Reads a password file: its content without one trailing newline.
 * @param field what to name in errors (`--password-file`, `RESTORABLE_PASSWORD_FILE`...).
 * @throws ConfigError when the file cannot be read or the password is empty.
 */
export async function readPasswordFile(path: string, cwd: string, field: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field, path }, { cause: err });
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new ConfigError(`${field}: ${path} is empty`, { field, path });
  return password;
}

/**
 * Reads a raw key file (64 hex digits or base64 of 32 bytes, surrounding whitespace ignored).
 * @throws ConfigError when unreadable or not a key.
 */
export async function readKeyFile(path: string, cwd: string, field: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field, path }, { cause: err });
  }
  return parseRawKey(text, `${field} (${path})`);
}

/**
 * The secret that opens the repository (order in the module comment).
 * @throws ConfigError naming every variable when no secret is given, or when the one given is unusable.
 */
export async function resolveSecret(inputs: Pick<OpenInputs, "passwordFile" | "env" | "cwd">): Promise<Secret> {
  const { env, cwd } = inputs;
  if (inputs.passwordFile !== undefined) return { kind: "password", password: await readPasswordFile(inputs.passwordFile, cwd, "--password-file") };
  if (env.RESTORABLE_KEY) return { kind: "raw", key: parseRawKey(env.RESTORABLE_KEY, "RESTORABLE_KEY") };
  if (env.RESTORABLE_PASSWORD) return { kind: "password", password: env.RESTORABLE_PASSWORD };
  if (env.RESTORABLE_PASSWORD_FILE) return { kind: "password", password: await readPasswordFile(env.RESTORABLE_PASSWORD_FILE, cwd, "RESTORABLE_PASSWORD_FILE") };
  throw new ConfigError(`no password or key given: use ${SECRET_SOURCES}`, { field: "password" });
}

/**
 * The scrypt cost for new password slots from RESTORABLE_SCRYPT_N (a testing knob: lowers the cost so tests
 * run fast; never set it for real repositories). Undefined when unset (the default cost applies).
 * @throws ConfigError unless it is a power of two >= 1024.
 */
export function scryptNFromEnv(env: Env): number | undefined {
  const raw = env.RESTORABLE_SCRYPT_N;
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1024 || (n & (n - 1)) !== 0 || n > 2 ** 24) {
    throw new ConfigError(`RESTORABLE_SCRYPT_N must be a power of two from 1024 to 16777216, got "${raw}"`, { field: "RESTORABLE_SCRYPT_N" });
  }
  return n;
}

/**
 * RESTORABLE_LOCK_STALE_SECONDS: after how long without a refresh a lock is
 * stale (default 1800); holders refresh six times per period. Raise it where
 * a process may pause longer (suspended VMs); lower it only in tests.
 * @throws ConfigError unless it is a whole number from 1 to 86400.
 */
export function lockTimingFromEnv(env: Env): LockTiming | undefined {
  const raw = env.RESTORABLE_LOCK_STALE_SECONDS;
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 86400) {
    throw new ConfigError(`RESTORABLE_LOCK_STALE_SECONDS must be a whole number of seconds from 1 to 86400, got "${raw}"`, { field: "RESTORABLE_LOCK_STALE_SECONDS" });
  }
  return { staleAfterMs: n * 1000, refreshEveryMs: Math.max(100, Math.round((n * 1000) / 6)) };
}

/** One line per capability the repository's safety argument needs and the store lacks (docs/format.md, "Locks"). */
export function capabilityWarnings(caps: StoreCapabilities | undefined): string[] {
  if (!caps) return ["the repository config records no store capabilities (probe it again with a newer `restorable init`)"];
  const out: string[] = [];
  if (!caps.conditionalCreate) out.push("the store ignored a conditional create (If-None-Match: *): two writers can overwrite each other's locks and manifests");
  if (!caps.readAfterWrite) out.push("the store did not return an object right after writing it (no read-after-write consistency)");
  if (!caps.listAfterWrite) out.push("the store did not list an object right after writing it: locks may not see each other");
  return out;
}

async function withStore<T>(location: string, env: Env, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = openStore(location, env as NodeJS.ProcessEnv);
  try {
    return await fn(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Opens the repository.
 * @throws ConfigError (no location or secret), NotARepositoryError, WrongKeyError, StoreError.
 */
export async function openRepository(inputs: OpenInputs): Promise<OpenedRepository> {
  const location = resolveLocation(inputs);
  const secret = await resolveSecret(inputs);
  return withStore(location, inputs.env, async (store) => {
    const repo = await Repository.open(store, secret);
    const timing = lockTimingFromEnv(inputs.env);
    if (timing) repo.lockTiming = timing;
    return { repo, store, location, warnings: capabilityWarnings(repo.config.capabilities), close: () => store.close() };
  });
}

/**
 * Creates a repository (probing the store first). RESTORABLE_SCRYPT_N, when set, lowers the scrypt cost of the first slot.
 * @throws ConfigError (no location or secret, a repository already there), StoreError.
 */
export async function initRepository(inputs: OpenInputs, options: Omit<InitOptions, "scryptN"> = {}): Promise<OpenedRepository> {
  const location = resolveLocation(inputs);
  const secret = await resolveSecret(inputs);
  const scryptN = scryptNFromEnv(inputs.env);
  return withStore(location, inputs.env, async (store) => {
    const repo = await Repository.init(store, secret, { ...options, ...(scryptN ? { scryptN } : {}) });
    return { repo, store, location, warnings: capabilityWarnings(repo.config.capabilities), close: () => store.close() };
  });
}
