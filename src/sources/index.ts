/**
 * Sources: the code that reads live application data consistently and hands
 * it to the snapshot operation as a stream of SourceEntry.
 */

export type { ChunkingHint, EntryType, SourceEntry, SourceWarning, SqliteCapture } from "./types.js";
export { isSqliteFile, SQLITE_MAGIC, SQLITE_SIBLING_SUFFIXES } from "./sqlite-detect.js";
export { captureSqlite, sqliteWorkerUrl, type CaptureSqliteOptions } from "./sqlite-capture.js";
export { sqliteChunkSize, sqliteFileSource, walkDirectory, type WalkHooks, type WalkOptions } from "./directory.js";
export { makePathFilter, type PathFilter } from "./path-filter.js";
export { runCommandSource, type CommandSourceSpec } from "./command.js";
export { BASE_ENV_NAMES, isSecretLikeEnvName, NEVER_PASSED_ENV, runHook, safeEnv, type HookResult, type HookSpec } from "./hooks.js";
