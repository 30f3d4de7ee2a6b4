/**
 * Typed errors with stable codes. The core and the ops throw these; only
 * `src/cli` and `src/action` turn a code into an exit status or a message
 * for the user (see `docs/cli.md`, "Exit codes").
 */

/** Stable error codes. Never renumber or rename: scripts depend on them. */
export type ErrorCode =
  | "CONFIG" // bad input: a flag, an environment variable or a field of restorable.yml
  | "NOT_FOUND" // a snapshot, file or path that does not exist
  | "NOT_A_REPOSITORY" // the location holds no restorable repository
  | "WRONG_KEY" // no key slot opens with the password or key given
  | "LOCKED" // another process holds a conflicting lock
  | "LOCK_LOST" // our own lock went stale before commit (fencing)
  | "INTEGRITY" // data failed an authenticity or consistency check
  | "SOURCE" // a source could not be read (missing, unreadable, corrupt database)
  | "STORE" // the storage backend failed (network, credentials, bucket)
  | "UNSAFE_PATH" // a path would escape the restore target
  | "HOOK" // a pre/post hook failed
  | "DRILL_FAILED" // a restore drill ran and failed (a check, a step, the application, a budget)
  | "INTERRUPTED"; // cancelled by a signal

/** Base class: every error restorable throws on purpose has a `code`. */
export class RestorableError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (field path, snapshot id, object key...). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Invalid configuration or arguments; `details.field` names the offending field (e.g. `sources[1].path`). */
export class ConfigError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("CONFIG", message, details, options);
  }
}

export class NotFoundError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("NOT_FOUND", message, details, options);
  }
}

export class NotARepositoryError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("NOT_A_REPOSITORY", message, details, options);
  }
}

export class WrongKeyError extends RestorableError {
  constructor(message = "no key slot opens with the password or key given", details: Record<string, unknown> = {}) {
    super("WRONG_KEY", message, details);
  }
}

export class LockedError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("LOCKED", message, details);
  }
}

export class LockLostError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("LOCK_LOST", message, details);
  }
}

/** Data failed an authenticity or consistency check; `details` names the object, snapshot and file when known. */
export class IntegrityError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("INTEGRITY", message, details, options);
  }
}

export class SourceError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("SOURCE", message, details, options);
  }
}

/** The storage backend failed; `details.key` / `details.endpoint` say where. `retryable` drives the retry wrapper. */
export class StoreError extends RestorableError {
  readonly retryable: boolean;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown; retryable?: boolean }) {
    super("STORE", message, details, options);
    this.retryable = options?.retryable ?? false;
  }
}

export class UnsafePathError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("UNSAFE_PATH", message, details);
  }
}

export class HookError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("HOOK", message, details, options);
  }
}

/** A restore drill ran and did not pass; `details.failures` lists why (the report has everything). */
export class DrillFailedError extends RestorableError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("DRILL_FAILED", message, details);
  }
}

export class InterruptedError extends RestorableError {
  constructor(message = "interrupted") {
    super("INTERRUPTED", message);
  }
}

/** Exit codes of the CLI, one per error code; 0 = success, 1 = unexpected failure. Documented in docs/cli.md. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  CONFIG: 2,
  NOT_FOUND: 3,
  NOT_A_REPOSITORY: 4,
  WRONG_KEY: 5,
  LOCKED: 6,
  LOCK_LOST: 6,
  INTEGRITY: 7,
  SOURCE: 8,
  STORE: 9,
  UNSAFE_PATH: 10,
  HOOK: 11,
  DRILL_FAILED: 12,
  INTERRUPTED: 130,
};

/** `put` with `ifNoneMatch` found the key already present. */
export class ObjectExistsError extends StoreError {
  constructor(key: string) {
    super(`object already exists: ${key}`, { key });
  }
}
