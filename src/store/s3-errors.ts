/**
 * Maps errors of @aws-sdk/client-s3 (S3 error codes, HTTP statuses, Node.js
 * network errors) to restorable's typed errors. Error codes follow the S3 API
 * reference, "Error responses" (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
import { NotFoundError, StoreError } from "../core/errors.js";

/** Where a failed S3 call was going: used in messages, never holds credentials. */
export interface S3ErrorContext {
  /** What we were doing: `put`, `get`, `stat`, `list`, `delete`, `deleteMany`. */
  readonly op: string;
  /** Object key (relative to the store) or list prefix, when there is one. */
  readonly key?: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly location: string;
}

/** The facts we read off an SDK or Node.js error. */
export interface S3ErrorFacts {
  readonly name: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly message: string;
}

const CREDENTIAL_NAMES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "InvalidSecurity",
  "AccountProblem",
]);

const RETRYABLE_NAMES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "Throttling",
  "ThrottlingException",
  "TooManyRequests",
  "TooManyRequestsException",
  "BadDigest",
  "XAmzContentSHA256Mismatch",
  "IncompleteBody",
  "TimeoutError",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);

/** Reads name, HTTP status, Node.js error code and message off anything thrown. */
export function s3ErrorFacts(error: unknown): S3ErrorFacts {
  const e = (error ?? {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    errors?: unknown;
  };
  let code = typeof e.code === "string" ? e.code : undefined;
  // Node.js reports a refused dual-stack connect as an AggregateError whose members carry the code.
  if (code === undefined && Array.isArray(e.errors)) {
    const inner = (e.errors as { code?: unknown }[]).find((x) => typeof x?.code === "string");
    if (inner) code = inner.code as string;
  }
  const name = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "Error";
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const message = typeof e.message === "string" ? e.message : String(error);
  return { name, status, code, message };
}

/** S3 refused a create-only put because the key exists (412), or a concurrent conditional write won (409). */
export function isConditionalConflict(error: unknown): boolean {
  const { name, status } = s3ErrorFacts(error);
  return name === "PreconditionFailed" || name === "ConditionalRequestConflict" || status === 412 || status === 409;
}

/** A 404 for an object (not for the bucket). */
export function isMissingObject(error: unknown): boolean {
  const { name, status } = s3ErrorFacts(error);
  return name !== "NoSuchBucket" && (name === "NoSuchKey" || name === "NotFound" || status === 404);
}

/** The bucket itself does not exist. */
export function isMissingBucket(error: unknown): boolean {
  return s3ErrorFacts(error).name === "NoSuchBucket";
}

/** Whether a failure is transient: throttling, 5xx, timeouts, network errors. */
export function isRetryableFacts(facts: S3ErrorFacts): boolean {
  if (RETRYABLE_NAMES.has(facts.name)) return true;
  if (facts.code !== undefined && NETWORK_CODES.has(facts.code)) return true;
  if (facts.status !== undefined && (facts.status === 429 || facts.status >= 500)) return true;
  return /socket hang up|ECONNRESET|network|timed out/i.test(facts.message);
}

/**
 * Turns any error thrown by an S3 call into NotFoundError (missing object) or
 * StoreError whose message names the endpoint and bucket and says what to do.
 * `retryable` is set for throttling, 5xx, timeouts and network failures.
 */
export function toStoreError(error: unknown, ctx: S3ErrorContext): Error {
  if (error instanceof StoreError || error instanceof NotFoundError) return error;
  const facts = s3ErrorFacts(error);
  const what = ctx.key !== undefined ? `${ctx.op} ${ctx.key}` : ctx.op;
  const details = {
    op: ctx.op,
    key: ctx.key,
    bucket: ctx.bucket,
    endpoint: ctx.endpoint,
    location: ctx.location,
    s3Code: facts.name,
    httpStatus: facts.status,
  };
  const cause = { cause: error };

  if (facts.name === "NoSuchBucket") {
    return new StoreError(`bucket ${ctx.bucket} does not exist at ${ctx.endpoint} (while trying to ${what})`, details, cause);
  }
  if (isMissingObject(error)) {
    return new NotFoundError(`object not found: ${ctx.key ?? "?"} in ${ctx.location}`, details, cause);
  }
  if (facts.name === "CredentialsProviderError") {
    return new StoreError(
      `no S3 credentials found for ${ctx.location} at ${ctx.endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role`,
      details,
      cause,
    );
  }
  if (CREDENTIAL_NAMES.has(facts.name) || facts.status === 403) {
    return new StoreError(
      `S3 at ${ctx.endpoint} refused the credentials for bucket ${ctx.bucket} (${facts.name}) while trying to ${what}: ` +
        "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the role) and that they are allowed this operation on the bucket",
      details,
      cause,
    );
  }
  if (facts.name === "AuthorizationHeaderMalformed" || facts.name === "PermanentRedirect" || facts.status === 301) {
    return new StoreError(
      `bucket ${ctx.bucket} at ${ctx.endpoint} is in another region (${facts.name}): set RESTORABLE_S3_REGION to the bucket's region`,
      details,
      cause,
    );
  }
  if (isRetryableFacts(facts)) {
    const reason = facts.code ?? facts.name;
    return new StoreError(
      `S3 endpoint ${ctx.endpoint} failed transiently (${reason}) while trying to ${what} in bucket ${ctx.bucket}: ${facts.message}`,
      details,
      { cause: error, retryable: true },
    );
  }
  return new StoreError(
    `S3 ${what} failed at ${ctx.endpoint} (bucket ${ctx.bucket}): ${facts.name}${facts.status ? ` (HTTP ${facts.status})` : ""}: ${facts.message}`,
    details,
    cause,
  );
}
