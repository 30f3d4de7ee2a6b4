/**
 * RetryStore: retries transient store failures with exponential backoff and
 * jitter (p-retry: delay = min(maxTimeout, minTimeout * 2^(n-1)) * random in [1, 2)).
 *
 * Only `StoreError` with `retryable: true` is retried (throttling, 5xx,
 * timeouts, network); ObjectExistsError, NotFoundError, ConfigError and
 * non-retryable StoreErrors (credentials, missing bucket) fail at once.
 *
 * A create-only put needs care: when an attempt failed in transit after the
 * server had stored the object, the retry sees ObjectExistsError for our own
 * write. So when a retried create-only put ends in ObjectExistsError, the
 * object is read back and the put counts as done if it holds exactly our
 * bytes (lock and commit objects carry random ids, so equal bytes mean ours).
 */
import { setTimeout as delay } from "node:timers/promises";
import pRetry from "p-retry";
import { ObjectExistsError, StoreError } from "../core/errors.js";
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";

/** Options of `RetryStore`. */
export interface RetryOptions {
  /** Retries after the first attempt (default 5, so up to 6 attempts). */
  readonly retries?: number;
  /** Delay before the first retry, ms (default 500). */
  readonly minTimeoutMs?: number;
  /** Upper bound of one delay, ms (default 20 000). */
  readonly maxTimeoutMs?: number;
}

function isRetryable(error: unknown): boolean {
  return error instanceof StoreError && error.retryable && !(error instanceof ObjectExistsError);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Wraps a store so every operation is retried on transient failures. */
export class RetryStore implements ObjectStore {
  readonly location: string;
  readonly inner: ObjectStore;
  readonly retries: number;
  readonly #minTimeoutMs: number;
  readonly #maxTimeoutMs: number;

  constructor(inner: ObjectStore, options: RetryOptions = {}) {
    this.inner = inner;
    this.location = inner.location;
    this.retries = options.retries ?? 5;
    this.#minTimeoutMs = options.minTimeoutMs ?? 500;
    this.#maxTimeoutMs = options.maxTimeoutMs ?? 20_000;
  }

  /**
   * Runs `op` until it succeeds, fails with a non-retryable error (rethrown
   * as is), or runs out of retries: then a StoreError saying "after N attempts"
   * with the last message (which names the endpoint) and `details.attempts`.
   */
  async #run<T>(op: () => Promise<T>, onConflictAfterRetry?: (error: ObjectExistsError) => Promise<T>): Promise<T> {
    // The first attempt outside p-retry: nearly every call succeeds at once, and p-retry's bookkeeping
    // (a few microseconds a call) showed in profiles of prune, which makes thousands of small calls.
    try {
      return await op();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (this.retries === 0) throw this.#gaveUp(error as StoreError, 1);
    }
    // Then p-retry, as if its first attempt had just failed: the same delays, doubling from minTimeoutMs.
    let attempts = 1;
    try {
      await delay(Math.min(this.#maxTimeoutMs, this.#minTimeoutMs) * (1 + Math.random()));
      return await pRetry(
        async (attempt) => {
          attempts = attempt + 1;
          return op();
        },
        {
          retries: this.retries - 1,
          minTimeout: this.#minTimeoutMs * 2,
          maxTimeout: this.#maxTimeoutMs,
          factor: 2,
          randomize: true,
          shouldRetry: ({ error }) => isRetryable(error),
        },
      );
    } catch (error) {
      if (error instanceof ObjectExistsError && onConflictAfterRetry) return onConflictAfterRetry(error);
      if (!isRetryable(error)) throw error;
      throw this.#gaveUp(error as StoreError, attempts);
    }
  }

  /** The error for a retryable failure that ran out of attempts: "gave up after N attempts", `details.attempts`. */
  #gaveUp(last: StoreError, attempts: number): StoreError {
    const plural = attempts === 1 ? "attempt" : "attempts";
    return new StoreError(
      `${last.message} (gave up after ${attempts} ${plural} on ${this.location})`,
      { ...last.details, attempts, location: last.details.location ?? this.location, transient: true },
      { cause: last, retryable: false },
    );
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    if (!options?.ifNoneMatch) return this.#run(() => this.inner.put(key, data, options));
    return this.#run(
      () => this.inner.put(key, data, options),
      async (conflict) => {
        const stored = await this.#run(() => this.inner.get(key)).catch(() => undefined);
        if (stored && equalBytes(stored, data)) return; // an earlier attempt did land
        throw conflict;
      },
    );
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#run(() => this.inner.get(key, range));
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.#run(() => this.inner.stat(key));
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.#run(() => this.inner.list(prefix));
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.#run(() => this.inner.listKeys(prefix));
  }

  delete(key: string): Promise<void> {
    return this.#run(() => this.inner.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#run(() => this.inner.deleteMany(keys));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
