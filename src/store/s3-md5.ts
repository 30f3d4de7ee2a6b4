/**
 * Content-MD5 for S3 requests while the client runs with
 * `requestChecksumCalculation: "WHEN_REQUIRED"`.
 *
 * DeleteObjects is an operation S3 marks "checksum required": the SDK then adds
 * a CRC32 `x-amz-checksum-*` header, which several S3-compatible servers (MinIO
 * among them) do not accept in place of the Content-MD5 they demand. Following
 * the SDK's own advice (aws-sdk-js-v3 `supplemental-docs/MD5_FALLBACK.md`), a
 * build-step middleware removes the flexible checksum headers and sets
 * Content-MD5 over the serialized body (RFC 1864: base64 of the MD5 digest).
 * It runs at low priority so it sits after the SDK's flexible-checksums
 * middleware in the same step, and it is added to one command only.
 */
import { createHash } from "node:crypto";

/** Base64 MD5 digest of `data`, the value of a Content-MD5 header (RFC 1864). */
export function contentMd5(data: Uint8Array | string): string {
  return createHash("md5").update(data).digest("base64");
}

interface BuildArgs {
  readonly input: unknown;
  readonly request: unknown;
}
type BuildNext = (args: BuildArgs) => Promise<unknown>;

/** A command whose middleware stack we can extend (any @aws-sdk/client-s3 command). */
interface WithMiddlewareStack {
  readonly middlewareStack: { add(middleware: never, options: never): void };
}

function md5Middleware(next: BuildNext): BuildNext {
  return async (args) => {
    const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined;
    const headers = request?.headers;
    const body = request?.body;
    if (headers && (typeof body === "string" || body instanceof Uint8Array)) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower.startsWith("x-amz-checksum-") || lower.startsWith("x-amz-sdk-checksum-") || lower === "content-md5") {
          delete headers[name];
        }
      }
      headers["content-md5"] = contentMd5(body);
    }
    return next(args);
  };
}

/**
 * Makes `command` send Content-MD5 (and no flexible checksum headers) for its
 * request body. Returns the same command.
 */
export function withContentMd5<C extends WithMiddlewareStack>(command: C): C {
  command.middlewareStack.add(
    md5Middleware as never,
    { step: "build", priority: "low", name: "restorableContentMd5" } as never,
  );
  return command;
}
