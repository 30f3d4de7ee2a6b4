/**
 * What every command shares: the global options, the environment, output
 * (one JSON document with `--json`, else human text), warnings, progress,
 * the configuration file and opening the repository. Commands never touch
 * `process`; `run.ts` hands them this context.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { initRepository, openRepository, type Env, type OpenInputs, type OpenedRepository } from "../ops/open.js";
import { createProgress, type Progress } from "./progress.js";

/** A writable text stream (process.stdout / process.stderr, or a buffer in tests). */
export interface TextStream extends NodeJS.WritableStream {
  isTTY?: boolean;
}

/**
 * Subscribes `handler` to the interrupt signals of the process (SIGINT, SIGTERM) while a command needs to
 * clean up before exiting (a drill's sandbox); returns the function that unsubscribes it.
 */
export type InterruptSource = (handler: (signal: string) => void) => () => void;

/** The process-facing parts, given by main.ts. */
export interface CliIo {
  readonly env: Env;
  readonly cwd: string;
  readonly stdout: TextStream;
  readonly stderr: TextStream;
  /** Interrupt signals (main.ts: SIGINT and SIGTERM of the process); absent in in-process tests. */
  readonly interrupts?: InterruptSource;
}

/** Options every command accepts (see docs/cli.md). */
export interface GlobalOptions {
  readonly repo?: string;
  readonly passwordFile?: string;
  readonly config?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/**
 * Where index files are cached between runs (src/repo/index-cache.ts): RESTORABLE_CACHE_DIR, else
 * $XDG_CACHE_HOME/restorable, else ~/.cache/restorable; none when RESTORABLE_CACHE_DIR is set to "".
 */
export function indexCacheRoot(env: Env): string | undefined {
  if (env.RESTORABLE_CACHE_DIR !== undefined) return env.RESTORABLE_CACHE_DIR || undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base ? join(base, "restorable") : undefined;
}

/** True for a repository location on a remote store (`s3://...`), false for a local folder or `file://` URL. */
export function isRemoteLocation(location: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) && !/^file:\/\//i.test(location);
}

/** The name of the configuration file used when `--config` is not given and it exists in the working directory. */
export const DEFAULT_CONFIG = "restorable.yml";

export class CliContext {
  /** Exit status when the command ends without throwing (verify sets 7 on damage). */
  exitCode = 0;
  /** Set once the command printed its JSON document, so an error does not print a second one. */
  emitted = false;
  private globals: GlobalOptions = {};
  private loaded: LoadedConfig | undefined | null = null;

  constructor(readonly io: CliIo) {}

  /** Called before each action with the parsed global options. */
  setGlobals(globals: GlobalOptions): void {
    this.globals = globals;
  }

  get options(): GlobalOptions {
    return this.globals;
  }

  get json(): boolean {
    return this.globals.json === true;
  }

  get quiet(): boolean {
    return this.globals.quiet === true;
  }

  /**
   * The configuration file: `--config`, else ./restorable.yml when present, else undefined. Loaded once.
   * The loader (yaml, the zod schema) is imported only when there is a file to load: most runs in CI have none
   * and it costs about 0.2 s of CPU to load.
   */
  async config(): Promise<LoadedConfig | undefined> {
    if (this.loaded !== null) return this.loaded;
    const explicit = this.globals.config;
    const file = explicit ?? (existsSync(resolve(this.io.cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined);
    this.loaded = file === undefined ? undefined : await (await import("../config/load.js")).loadConfig(file, this.io.cwd);
    return this.loaded;
  }

  /** Location and secret inputs for src/ops/open.ts. */
  async openInputs(): Promise<OpenInputs> {
    const loaded = await this.config();
    const fromFile = loaded ? (await import("../config/load.js")).configRepository(loaded) : undefined;
    return {
      env: this.io.env, cwd: this.io.cwd,
      ...(this.globals.repo !== undefined ? { repo: this.globals.repo } : {}),
      ...(this.globals.passwordFile !== undefined ? { passwordFile: this.globals.passwordFile } : {}),
      ...(fromFile !== undefined ? { configRepository: fromFile } : {}),
    };
  }

  /**
   * Opens the repository, warns about missing store capabilities, runs `fn`, closes the store.
   * The index cache is used for remote (s3://) repositories only: for a local folder it would copy every index
   * file once more and then read the copy instead of the original from the same kind of disk (a `prune` of
   * 1,000 index files spent about 0.25 s of CPU filling it, and a later run saved nothing).
   */
  async withRepo<T>(fn: (opened: OpenedRepository) => Promise<T>): Promise<T> {
    return this.withRepoOpening(async (opening) => fn(await opening));
  }

  /**
   * `withRepo` for a command that can start before the repository is open (a snapshot walks its sources
   * while the key is derived): `fn` gets the opening, which rejects as `openRepository` does.
   */
  async withRepoOpening<T>(fn: (opening: Promise<OpenedRepository>) => Promise<T>): Promise<T> {
    const opening = this.openInputs()
      .then(openRepository)
      .then((opened) => {
        const cache = indexCacheRoot(this.io.env);
        if (cache && isRemoteLocation(opened.location)) opened.repo.useIndexCache(cache);
        for (const w of opened.warnings) this.warn(w);
        return opened;
      });
    opening.catch(() => undefined); // fn may fail before it awaits the opening
    try {
      return await fn(opening);
    } finally {
      await (await opening.catch(() => undefined))?.close();
    }
  }

  /** Creates the repository (init), runs `fn`, closes the store. */
  async withNewRepo<T>(fn: (opened: OpenedRepository) => Promise<T>): Promise<T> {
    const opened = await initRepository(await this.openInputs());
    try {
      return await fn(opened);
    } finally {
      await opened.close();
    }
  }

  /**
   * The command's result: `doc` as one JSON document with `--json`, else the `human` lines on stdout.
   * Call once per command.
   */
  emit(doc: unknown, human: () => readonly string[]): void {
    if (this.emitted) throw new Error("internal: a command emitted two results");
    this.emitted = true;
    if (this.json) this.io.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    else for (const line of human()) this.io.stdout.write(line + "\n");
  }

  /** A warning on stderr (shown even with --quiet). */
  warn(message: string): void {
    this.io.stderr.write(`restorable: warning: ${message}\n`);
  }

  /** A side note on stderr (hidden by --quiet). */
  note(message: string): void {
    if (!this.quiet) this.io.stderr.write(`${message}\n`);
  }

  /** Ends the command with `exitCode` after its result was emitted; the message goes to stderr. */
  fail(exitCode: number, message: string): void {
    this.exitCode = exitCode;
    this.io.stderr.write(`restorable: ${message}\n`);
  }

  /** A progress display on stderr (none with --quiet). */
  progress(label: string, options: { totalBytes?: number; unit?: string; bytes?: boolean } = {}): Progress {
    return createProgress({ label, stream: this.io.stderr, quiet: this.quiet, ...options });
  }
}
