/**
 * The inputs every action shares (where the repository is, how to open it,
 * how the summary treats private values), the configuration file, and
 * opening the repository with the same code the CLI uses (src/ops/open.ts):
 * an input overrides the environment, which overrides `restorable.yml`.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import * as core from "@actions/core";
import { configRepository, loadConfig, type LoadedConfig } from "../config/load.js";
import { ConfigError, NotARepositoryError } from "../core/errors.js";
import { initRepository, openRepository, type Env, type OpenInputs, type OpenedRepository } from "../ops/open.js";
import { attachIndexCache, githubCache, type CacheBackend, type CacheReport } from "./cache.js";
import type { InputReader } from "./inputs.js";

/** Inputs of every action (see each action.yml for the descriptions). */
export interface CommonInputs {
  /** `config`: a path that must exist; undefined means `restorable.yml` when present in the working directory. */
  readonly config?: string;
  /** `repository`: a folder or `s3://bucket/prefix`. */
  readonly repository?: string;
  /** `password` or `key` (at most one). */
  readonly password?: string;
  readonly key?: string;
  /** `s3-endpoint`, `s3-region`. */
  readonly s3Endpoint?: string;
  readonly s3Region?: string;
  /** `redact`: keep observed values and application output out of the job summary. */
  readonly redact: boolean;
  /** `summary-max-value`: longest observed value or log excerpt shown in the summary, characters. */
  readonly summaryMaxValue: number;
  /** `index-cache`: keep the index in the Actions cache between runs. */
  readonly indexCache: boolean;
  /** `working-directory`: base of relative paths (default: the workspace). */
  readonly workingDirectory: string;
}

/** The shared inputs' names, as they appear in action.yml. */
export const COMMON_INPUT_NAMES = ["config", "repository", "password", "key", "s3-endpoint", "s3-region", "redact", "summary-max-value", "index-cache", "working-directory"] as const;

/**
 * Reads the shared inputs.
 * @param cwd the process's working directory (the workspace on a runner).
 * @throws ConfigError naming the input (both password and key, a bad boolean...).
 */
export function readCommonInputs(r: InputReader, cwd: string): CommonInputs {
  const password = r.optional("password");
  const key = r.optional("key");
  if (password !== undefined && key !== undefined) {
    throw new ConfigError('inputs "password" and "key" were both given: give one of them (the key opens a raw-key slot, the password a password slot)', { field: "key", input: "key" });
  }
  const s3Endpoint = r.optional("s3-endpoint");
  if (s3Endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(s3Endpoint)) {
    throw new ConfigError(`input "s3-endpoint": expected an http:// or https:// URL, got ${JSON.stringify(s3Endpoint)}`, { field: "s3-endpoint", input: "s3-endpoint" });
  }
  const optional = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    ...optional("config", r.optional("config")),
    ...optional("repository", r.optional("repository")),
    ...optional("password", password),
    ...optional("key", key),
    ...optional("s3Endpoint", s3Endpoint),
    ...optional("s3Region", r.optional("s3-region")),
    redact: r.boolean("redact", false),
    summaryMaxValue: r.integer("summary-max-value", { min: 0, max: 10_000 }, 200)!,
    indexCache: r.boolean("index-cache", true),
    workingDirectory: resolve(cwd, r.optional("working-directory") ?? "."),
  };
}

/**
 * The environment the ops see: the process's, with the inputs laid over it.
 * A `password` input removes RESTORABLE_KEY and RESTORABLE_PASSWORD_FILE (and a `key` input
 * RESTORABLE_PASSWORD and RESTORABLE_PASSWORD_FILE), so the input is the secret used.
 */
export function actionEnv(inputs: CommonInputs, env: Env): Env {
  const out: Record<string, string | undefined> = { ...env };
  if (inputs.password !== undefined) {
    out.RESTORABLE_PASSWORD = inputs.password;
    delete out.RESTORABLE_KEY;
    delete out.RESTORABLE_PASSWORD_FILE;
  }
  if (inputs.key !== undefined) {
    out.RESTORABLE_KEY = inputs.key;
    delete out.RESTORABLE_PASSWORD;
    delete out.RESTORABLE_PASSWORD_FILE;
  }
  if (inputs.s3Endpoint !== undefined) out.RESTORABLE_S3_ENDPOINT = inputs.s3Endpoint;
  if (inputs.s3Region !== undefined) out.RESTORABLE_S3_REGION = inputs.s3Region;
  return out;
}

/**
 * The configuration file: the `config` input (it must exist), else `restorable.yml` in the working directory when present.
 * @throws ConfigError naming the path (missing, unreadable) or the path inside the file (unknown key, wrong type).
 */
export async function loadActionConfig(inputs: CommonInputs): Promise<LoadedConfig | undefined> {
  if (inputs.config !== undefined) {
    if (!existsSync(resolve(inputs.workingDirectory, inputs.config))) {
      throw new ConfigError(`input "config": ${inputs.config} does not exist (relative to ${inputs.workingDirectory})`, { field: "config", input: "config", file: inputs.config });
    }
    return loadConfig(inputs.config, inputs.workingDirectory);
  }
  if (existsSync(resolve(inputs.workingDirectory, "restorable.yml"))) return loadConfig("restorable.yml", inputs.workingDirectory);
  return undefined;
}

/**
 * Fails early, naming the inputs, when no repository or no secret is given anywhere.
 * @throws ConfigError `input "repository" is required...` / `input "password" or "key" is required...`.
 */
export function assertRepositoryInputs(inputs: CommonInputs, env: Env, loaded: LoadedConfig | undefined): void {
  if (inputs.repository === undefined && !env.RESTORABLE_REPOSITORY && loaded?.config.repository === undefined) {
    throw new ConfigError('input "repository" is required: a folder or s3://bucket/prefix (or set repository: in restorable.yml, or RESTORABLE_REPOSITORY)', { field: "repository", input: "repository" });
  }
  const e = actionEnv(inputs, env);
  if (!e.RESTORABLE_PASSWORD && !e.RESTORABLE_KEY && !e.RESTORABLE_PASSWORD_FILE) {
    throw new ConfigError('input "password" or "key" is required: pass the repository password or raw key from a secret (or set RESTORABLE_PASSWORD / RESTORABLE_KEY)', { field: "password", input: "password" });
  }
}

/** An open repository plus what the cache did. */
export interface ActionRepository extends OpenedRepository {
  readonly cache: CacheReport;
}

/**
 * Opens the repository the inputs name (creating it when `initIfMissing` and the location holds none), attaches
 * the index cache (`index-cache`), runs `fn`, saves the cache, closes the store. Store warnings (missing
 * capabilities) become annotations.
 * @throws whatever opening or `fn` throws (ConfigError, WrongKeyError, NotARepositoryError, StoreError...).
 */
export async function withActionRepository<T>(
  inputs: CommonInputs,
  loaded: LoadedConfig | undefined,
  env: Env,
  fn: (opened: ActionRepository) => Promise<T>,
  options: { readonly initIfMissing?: boolean; readonly cacheBackend?: CacheBackend } = {},
): Promise<T> {
  assertRepositoryInputs(inputs, env, loaded);
  const fromFile = loaded ? configRepository(loaded) : undefined;
  const openInputs: OpenInputs = {
    env: actionEnv(inputs, env),
    cwd: inputs.workingDirectory,
    ...(inputs.repository !== undefined ? { repo: inputs.repository } : {}),
    ...(fromFile !== undefined ? { configRepository: fromFile } : {}),
  };
  let opened: OpenedRepository;
  try {
    opened = await openRepository(openInputs);
  } catch (err) {
    if (!(err instanceof NotARepositoryError && options.initIfMissing)) throw err;
    opened = await initRepository(openInputs);
    core.notice(`created a new repository ${opened.repo.config.id} at ${opened.location} (input init: true)`);
  }
  try {
    for (const w of opened.warnings) core.warning(w);
    const cache = inputs.indexCache
      ? await attachIndexCache(opened.repo, env, options.cacheBackend ?? githubCache)
      : { report: { restored: "off" as const, saved: false, notes: ["index cache disabled (index-cache: false)"] }, save: async () => undefined };
    const result = await fn({ ...opened, cache: cache.report });
    await cache.save();
    for (const n of cache.report.notes) core.info(n);
    return result;
  } finally {
    await opened.close();
  }
}
