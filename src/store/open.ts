/**
 * Opens the store a repository location names: `--repo` / `RESTORABLE_REPOSITORY`.
 *
 * - a plain path (`./backups`, `/srv/backup`) or a `file://` URL: LocalStore;
 * - `s3://bucket` or `s3://bucket/some/prefix`: S3Store, configured from
 *   RESTORABLE_S3_ENDPOINT (an http(s) URL; AWS when unset),
 *   RESTORABLE_S3_REGION / AWS_REGION / AWS_DEFAULT_REGION (else `us-east-1`),
 *   RESTORABLE_S3_PATH_STYLE (`true`/`false`; default `true` when an endpoint
 *   is set). Credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+
 *   AWS_SESSION_TOKEN) from `env` when both are there, else the SDK's default
 *   chain (profile, SSO, web identity/OIDC, instance metadata).
 * Both come wrapped in RetryStore (a short one for local folders).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../core/errors.js";
import { LocalStore } from "./local.js";
import { RetryStore } from "./retry.js";
import { DeferredStore } from "./deferred.js";
import type { ObjectStore } from "./types.js";
import { assertValidKey } from "./keys.js";

/** Bucket names per the S3 naming rules (3-63 chars of lowercase letters, digits, `.`, `-`). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SOURCE = "--repo / RESTORABLE_REPOSITORY";

function bad(location: string, why: string): ConfigError {
  return new ConfigError(`invalid repository location "${location}" (${SOURCE}): ${why}`, {
    field: "repository",
    location,
  });
}

/** The parts of an `s3://` location. */
export interface S3Location {
  readonly bucket: string;
  /** Without leading/trailing `/`; `""` for the bucket root. */
  readonly prefix: string;
}

/**
 * Parses `s3://bucket[/prefix]`.
 * @throws ConfigError naming `--repo`/`RESTORABLE_REPOSITORY` for a missing or
 *   invalid bucket, credentials, port, query or fragment in the URL, or a bad prefix.
 */
export function parseS3Location(location: string): S3Location {
  const rest = location.slice("s3://".length);
  if (/[?#]/.test(rest)) throw bad(location, "an s3:// location takes no query or fragment");
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPrefix = slash < 0 ? "" : rest.slice(slash + 1);
  if (authority.includes("@")) {
    throw bad(location, "do not put credentials in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (authority === "") throw bad(location, "expected s3://bucket or s3://bucket/prefix");
  if (authority.includes(":")) throw bad(location, "no port here; set the endpoint in RESTORABLE_S3_ENDPOINT");
  if (!BUCKET.test(authority)) {
    throw bad(location, `"${authority}" is not a valid bucket name (3-63 lowercase letters, digits, "." or "-")`);
  }
  const prefix = rawPrefix.replace(/\/+$/, "");
  if (prefix !== "") {
    try {
      assertValidKey(prefix);
    } catch (error) {
      throw bad(location, `bad prefix "${rawPrefix}": ${(error as Error).message}`);
    }
  }
  return { bucket: authority, prefix };
}

function parseBool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`${name} must be "true" or "false", got "${value}"`, { field: name });
}

function parseEndpoint(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`RESTORABLE_S3_ENDPOINT must be an http(s) URL such as http://127.0.0.1:9000, got "${value}"`, {
      field: "RESTORABLE_S3_ENDPOINT",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`RESTORABLE_S3_ENDPOINT must use http:// or https://, got "${value}"`, { field: "RESTORABLE_S3_ENDPOINT" });
  }
  if (url.username || url.password) {
    throw new ConfigError("RESTORABLE_S3_ENDPOINT must not contain credentials; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", {
      field: "RESTORABLE_S3_ENDPOINT",
    });
  }
  return value;
}

/**
 * Opens the store for `location`, reading S3 settings from `env`.
 * The returned store is a RetryStore around a LocalStore or an S3Store.
 * @throws ConfigError for an empty location, an unsupported scheme, a bad
 *   s3:// URL, or a bad RESTORABLE_S3_* variable.
 */
export function openStore(location: string, env: NodeJS.ProcessEnv): ObjectStore {
  const trimmed = location.trim();
  if (trimmed === "") throw bad(location, "it is empty; give a folder path or s3://bucket/prefix");

  if (trimmed.startsWith("s3://")) {
    const { bucket, prefix } = parseS3Location(trimmed);
    const endpoint = parseEndpoint(env.RESTORABLE_S3_ENDPOINT);
    const region = env.RESTORABLE_S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
    const forcePathStyle = parseBool("RESTORABLE_S3_PATH_STYLE", env.RESTORABLE_S3_PATH_STYLE, endpoint !== undefined);
    const keyId = env.AWS_ACCESS_KEY_ID;
    const secret = env.AWS_SECRET_ACCESS_KEY;
    const credentials =
      keyId && secret
        ? { accessKeyId: keyId, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
        : undefined;
    const options = {
      bucket,
      prefix,
      region,
      forcePathStyle,
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
    };
    // Loaded on first use: local repositories never load the AWS SDK.
    return new DeferredStore(`s3://${bucket}${prefix ? `/${prefix}` : ""}`, async () => {
      const { S3Store } = await import("./s3.js");
      return new RetryStore(new S3Store(options));
    });
  }

  if (trimmed.startsWith("file://")) {
    let folder: string;
    try {
      folder = fileURLToPath(trimmed);
    } catch (error) {
      throw bad(location, `not a usable file:// URL (${(error as Error).message})`);
    }
    return new RetryStore(new LocalStore(folder), { retries: 2, minTimeoutMs: 50, maxTimeoutMs: 500 });
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(trimmed);
  if (scheme) throw bad(location, `unsupported scheme "${scheme[1]}://"; use a folder path or s3://bucket/prefix`);

  return new RetryStore(new LocalStore(path.resolve(trimmed)), { retries: 2, minTimeoutMs: 50, maxTimeoutMs: 500 });
}
