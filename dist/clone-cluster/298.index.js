export const id = 298;
export const ids = [298];
export const modules = {

/***/ 298:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  S3Store: () => (/* binding */ S3Store)
});

// UNUSED EXPORTS: MAX_SINGLE_PUT_BYTES

// EXTERNAL MODULE: ../node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(8265);
// EXTERNAL MODULE: ../src/core/errors.ts
var errors = __webpack_require__(504);
// EXTERNAL MODULE: ../src/core/concurrency.ts
var concurrency = __webpack_require__(6680);
// EXTERNAL MODULE: ../src/store/keys.ts
var store_keys = __webpack_require__(7841);
// EXTERNAL MODULE: ../src/store/range.ts
var store_range = __webpack_require__(3984);
;// CONCATENATED MODULE: ../src/store/s3-errors.ts
/**
 * Maps errors of @aws-sdk/client-s3 (S3 error codes, HTTP statuses, Node.js
 * network errors) to restorable's typed errors. Error codes follow the S3 API
 * reference, "Error responses" (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */

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
function s3ErrorFacts(error) {
    const e = (error ?? {});
    let code = typeof e.code === "string" ? e.code : undefined;
    // Node.js reports a refused dual-stack connect as an AggregateError whose members carry the code.
    if (code === undefined && Array.isArray(e.errors)) {
        const inner = e.errors.find((x) => typeof x?.code === "string");
        if (inner)
            code = inner.code;
    }
    const name = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "Error";
    const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
    const message = typeof e.message === "string" ? e.message : String(error);
    return { name, status, code, message };
}
/** S3 refused a create-only put because the key exists (412), or a concurrent conditional write won (409). */
function isConditionalConflict(error) {
    const { name, status } = s3ErrorFacts(error);
    return name === "PreconditionFailed" || name === "ConditionalRequestConflict" || status === 412 || status === 409;
}
/** A 404 for an object (not for the bucket). */
function isMissingObject(error) {
    const { name, status } = s3ErrorFacts(error);
    return name !== "NoSuchBucket" && (name === "NoSuchKey" || name === "NotFound" || status === 404);
}
/** The bucket itself does not exist. */
function isMissingBucket(error) {
    return s3ErrorFacts(error).name === "NoSuchBucket";
}
/** Whether a failure is transient: throttling, 5xx, timeouts, network errors. */
function isRetryableFacts(facts) {
    if (RETRYABLE_NAMES.has(facts.name))
        return true;
    if (facts.code !== undefined && NETWORK_CODES.has(facts.code))
        return true;
    if (facts.status !== undefined && (facts.status === 429 || facts.status >= 500))
        return true;
    return /socket hang up|ECONNRESET|network|timed out/i.test(facts.message);
}
/**
 * Turns any error thrown by an S3 call into NotFoundError (missing object) or
 * StoreError whose message names the endpoint and bucket and says what to do.
 * `retryable` is set for throttling, 5xx, timeouts and network failures.
 */
function toStoreError(error, ctx) {
    if (error instanceof errors/* StoreError */.AD || error instanceof errors/* NotFoundError */.m_)
        return error;
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
        return new errors/* StoreError */.AD(`bucket ${ctx.bucket} does not exist at ${ctx.endpoint} (while trying to ${what})`, details, cause);
    }
    if (isMissingObject(error)) {
        return new errors/* NotFoundError */.m_(`object not found: ${ctx.key ?? "?"} in ${ctx.location}`, details, cause);
    }
    if (facts.name === "CredentialsProviderError") {
        return new errors/* StoreError */.AD(`no S3 credentials found for ${ctx.location} at ${ctx.endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role`, details, cause);
    }
    if (CREDENTIAL_NAMES.has(facts.name) || facts.status === 403) {
        return new errors/* StoreError */.AD(`S3 at ${ctx.endpoint} refused the credentials for bucket ${ctx.bucket} (${facts.name}) while trying to ${what}: ` +
            "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the role) and that they are allowed this operation on the bucket", details, cause);
    }
    if (facts.name === "AuthorizationHeaderMalformed" || facts.name === "PermanentRedirect" || facts.status === 301) {
        return new errors/* StoreError */.AD(`bucket ${ctx.bucket} at ${ctx.endpoint} is in another region (${facts.name}): set RESTORABLE_S3_REGION to the bucket's region`, details, cause);
    }
    if (isRetryableFacts(facts)) {
        const reason = facts.code ?? facts.name;
        return new errors/* StoreError */.AD(`S3 endpoint ${ctx.endpoint} failed transiently (${reason}) while trying to ${what} in bucket ${ctx.bucket}: ${facts.message}`, details, { cause: error, retryable: true });
    }
    return new errors/* StoreError */.AD(`S3 ${what} failed at ${ctx.endpoint} (bucket ${ctx.bucket}): ${facts.name}${facts.status ? ` (HTTP ${facts.status})` : ""}: ${facts.message}`, details, cause);
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ../src/store/s3-md5.ts
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

/** Base64 MD5 digest of `data`, the value of a Content-MD5 header (RFC 1864). */
function contentMd5(data) {
    return (0,external_node_crypto_.createHash)("md5").update(data).digest("base64");
}
function md5Middleware(next) {
    return async (args) => {
        const request = args.request;
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
function withContentMd5(command) {
    command.middlewareStack.add(md5Middleware, { step: "build", priority: "low", name: "restorableContentMd5" });
    return command;
}

;// CONCATENATED MODULE: ../src/store/s3.ts
/**
 * ObjectStore on an S3 bucket (AWS S3, MinIO, and other S3-compatible
 * servers) through @aws-sdk/client-s3. Key `k` is the object `<prefix>/k`.
 *
 * Settings and why (see docs/storage.md):
 * - `requestChecksumCalculation` / `responseChecksumValidation` are
 *   `WHEN_REQUIRED`: since 3.729 the SDK sends CRC checksums by default, which
 *   several S3-compatible providers reject or mishandle.
 * - every PutObject carries Content-MD5 (the server rejects a body that does
 *   not match), since that setting drops the SDK's own upload checksum;
 *   DeleteObjects gets Content-MD5 through `withContentMd5` (MinIO demands it).
 * - create-only puts send `If-None-Match: *`; 412 PreconditionFailed and 409
 *   ConditionalRequestConflict become ObjectExistsError. Providers that ignore
 *   the header are caught by `probeCapabilities`.
 * - the SDK's own retries are off by default (`maxAttempts: 1`): RetryStore is
 *   the one retry layer, so "after N attempts" counts real requests.
 * - connection, idle-socket and whole-request timeouts are set on the Node.js
 *   HTTP handler so a dead endpoint fails instead of hanging.
 * Objects are written with one PutObject each (up to 5 GiB, S3's single-PUT
 * limit); the repository writes packs of about 16 MiB.
 */







/** S3's limit for one PutObject, in bytes (5 GiB). */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** DeleteObjects takes at most 1000 keys per request (S3 API reference). */
const DELETE_BATCH = 1000;
/** Drops user info, query and fragment from an endpoint URL so it can appear in messages. */
function endpointLabel(endpoint, region) {
    if (endpoint === undefined)
        return `https://s3.${region}.amazonaws.com`;
    try {
        const url = new URL(endpoint);
        return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    }
    catch {
        return endpoint;
    }
}
/** An S3-backed store. `location` is `s3://bucket/prefix`. */
class S3Store {
    location;
    bucket;
    /** Normalized prefix without leading/trailing `/` (`""` = bucket root). */
    prefix;
    /** Endpoint as shown in messages (no credentials). */
    endpoint;
    region;
    forcePathStyle;
    /** The SDK client: exposed for tests and diagnostics; middleware added to it affects every call. */
    client;
    #keyPrefix;
    #bucketConfirmed = false;
    /** @throws ConfigError for an empty bucket or an invalid prefix. */
    constructor(options) {
        if (!options.bucket)
            throw new errors/* ConfigError */.xL("S3 bucket name is empty", { field: "bucket" });
        const prefix = options.prefix.replace(/^\/+|\/+$/g, "");
        if (prefix !== "") {
            try {
                (0,store_keys/* assertValidKey */.Mw)(prefix);
            }
            catch (error) {
                throw new errors/* ConfigError */.xL(`invalid S3 prefix "${options.prefix}": ${error.message}`, { field: "prefix" }, { cause: error });
            }
        }
        this.bucket = options.bucket;
        this.prefix = prefix;
        this.#keyPrefix = prefix === "" ? "" : `${prefix}/`;
        this.region = options.region ?? "us-east-1";
        this.forcePathStyle = options.forcePathStyle ?? false;
        this.endpoint = endpointLabel(options.endpoint, this.region);
        this.location = prefix === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${prefix}`;
        this.client = new dist_cjs.S3Client({
            region: this.region,
            ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
            forcePathStyle: this.forcePathStyle,
            ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
            requestChecksumCalculation: "WHEN_REQUIRED",
            responseChecksumValidation: "WHEN_REQUIRED",
            followRegionRedirects: true,
            maxAttempts: options.maxAttempts ?? 1,
            requestHandler: {
                connectionTimeout: options.connectionTimeoutMs ?? 10_000,
                socketTimeout: options.socketTimeoutMs ?? 60_000,
                requestTimeout: options.requestTimeoutMs ?? 600_000,
                throwOnRequestTimeout: true,
            },
        });
    }
    #objectKey(key) {
        return this.#keyPrefix + key;
    }
    #error(error, op, key) {
        return toStoreError(error, {
            op,
            ...(key !== undefined ? { key } : {}),
            endpoint: this.endpoint,
            bucket: this.bucket,
            location: this.location,
        });
    }
    async put(key, data, options) {
        (0,store_keys/* assertValidKey */.Mw)(key);
        if (data.length > MAX_SINGLE_PUT_BYTES) {
            throw new errors/* StoreError */.AD(`object ${key} is ${data.length} bytes, above S3's single-PUT limit of ${MAX_SINGLE_PUT_BYTES}`, {
                key,
                location: this.location,
            });
        }
        const command = new dist_cjs.PutObjectCommand({
            Bucket: this.bucket,
            Key: this.#objectKey(key),
            Body: data,
            ContentLength: data.length,
            ContentMD5: contentMd5(data),
            ContentType: "application/octet-stream",
            ...(options?.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
        });
        try {
            await this.client.send(command);
        }
        catch (error) {
            if (options?.ifNoneMatch && isConditionalConflict(error))
                throw new errors/* ObjectExistsError */.qs(key);
            throw this.#error(error, "put", key);
        }
    }
    async get(key, range) {
        (0,store_keys/* assertValidKey */.Mw)(key);
        if (range) {
            (0,store_range/* assertValidRange */.S)(key, range);
            // An HTTP range cannot be empty: answer from HEAD so a missing key still fails.
            if (range.length === 0) {
                if (!(await this.stat(key)))
                    throw this.#notFound(key);
                return new Uint8Array(0);
            }
        }
        const command = new dist_cjs.GetObjectCommand({
            Bucket: this.bucket,
            Key: this.#objectKey(key),
            ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        });
        try {
            const response = await this.client.send(command);
            if (!response.Body)
                throw new errors/* StoreError */.AD(`S3 returned no body for ${key} at ${this.endpoint}`, { key }, { retryable: true });
            const bytes = await response.Body.transformToByteArray();
            if (response.ContentLength !== undefined && bytes.length !== response.ContentLength) {
                throw new errors/* StoreError */.AD(`S3 at ${this.endpoint} sent ${bytes.length} of ${response.ContentLength} bytes of ${key}`, { key, location: this.location, endpoint: this.endpoint }, { retryable: true });
            }
            return bytes;
        }
        catch (error) {
            const facts = s3ErrorFacts(error);
            // A range starting at or past the end: the object exists, the clipped range is empty.
            if (range && (facts.name === "InvalidRange" || facts.status === 416))
                return new Uint8Array(0);
            if (isMissingObject(error))
                throw this.#notFound(key, error);
            throw this.#error(error, "get", key);
        }
    }
    #notFound(key, cause) {
        return new errors/* NotFoundError */.m_(`object not found: ${key} in ${this.location}`, { key, location: this.location, endpoint: this.endpoint }, { cause });
    }
    async stat(key) {
        (0,store_keys/* assertValidKey */.Mw)(key);
        try {
            const response = await this.client.send(new dist_cjs.HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
            return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified?.getTime() ?? 0 };
        }
        catch (error) {
            if (!isMissingObject(error))
                throw this.#error(error, "stat", key);
            // HEAD answers 404 without a body for a missing bucket too: tell them apart once.
            await this.#confirmBucket(key);
            return undefined;
        }
    }
    /** Checks once per store that the bucket exists, so a missing bucket is not mistaken for a missing object. */
    async #confirmBucket(key) {
        if (this.#bucketConfirmed)
            return;
        try {
            await this.client.send(new dist_cjs.HeadBucketCommand({ Bucket: this.bucket }));
            this.#bucketConfirmed = true;
        }
        catch (error) {
            const { name, status } = s3ErrorFacts(error);
            if (isMissingBucket(error) || name === "NotFound" || status === 404) {
                throw this.#error(Object.assign(new Error("NoSuchBucket"), { name: "NoSuchBucket" }), "stat", key);
            }
            // Other failures (e.g. no s3:ListBucket) say nothing about the object: keep the 404.
        }
    }
    /** ListObjectsV2 returns sizes and times anyway: `list`, keys only. */
    async listKeys(prefix) {
        return (await this.list(prefix)).map((o) => o.key);
    }
    async list(prefix) {
        (0,store_keys/* assertValidPrefix */.x3)(prefix);
        const out = [];
        let token;
        do {
            let response;
            try {
                response = await this.client.send(new dist_cjs.ListObjectsV2Command({
                    Bucket: this.bucket,
                    Prefix: this.#keyPrefix + prefix,
                    ...(token !== undefined ? { ContinuationToken: token } : {}),
                }));
            }
            catch (error) {
                throw this.#error(error, "list", prefix);
            }
            for (const item of response.Contents ?? []) {
                if (item.Key === undefined || !item.Key.startsWith(this.#keyPrefix))
                    continue;
                const key = item.Key.slice(this.#keyPrefix.length);
                if (!isKey(key))
                    continue; // objects no key can name (written by something else)
                out.push({ key, size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 });
            }
            token = response.IsTruncated ? response.NextContinuationToken : undefined;
        } while (token !== undefined);
        return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    async delete(key) {
        (0,store_keys/* assertValidKey */.Mw)(key);
        try {
            await this.client.send(new dist_cjs.DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
        }
        catch (error) {
            if (isMissingObject(error))
                return;
            throw this.#error(error, "delete", key);
        }
    }
    async deleteMany(keys) {
        for (const key of keys)
            (0,store_keys/* assertValidKey */.Mw)(key);
        const unique = [...new Set(keys)];
        const batches = [];
        for (let i = 0; i < unique.length; i += DELETE_BATCH)
            batches.push(unique.slice(i, i + DELETE_BATCH));
        await (0,concurrency/* mapLimit */.s)(batches, 4, (batch) => this.#deleteBatch(batch));
    }
    async #deleteBatch(batch) {
        const command = withContentMd5(new dist_cjs.DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.#objectKey(key) })), Quiet: true },
        }));
        let response;
        try {
            response = await this.client.send(command);
        }
        catch (error) {
            throw this.#error(error, "deleteMany", `${batch[0]} (+${batch.length - 1} more)`);
        }
        const failures = (response.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
        if (failures.length === 0)
            return;
        const transient = new Set(["InternalError", "SlowDown", "ServiceUnavailable"]);
        const shown = failures
            .slice(0, 5)
            .map((e) => `${(e.Key ?? "?").slice(this.#keyPrefix.length)} (${e.Code ?? "?"}: ${e.Message ?? ""})`)
            .join(", ");
        throw new errors/* StoreError */.AD(`S3 at ${this.endpoint} refused to delete ${failures.length} of ${batch.length} objects in ${this.location}: ${shown}`, { location: this.location, endpoint: this.endpoint, bucket: this.bucket, failed: failures.map((e) => e.Key) }, { retryable: failures.every((e) => transient.has(e.Code ?? "")) });
    }
    async close() {
        this.client.destroy();
    }
}
function isKey(key) {
    try {
        (0,store_keys/* assertValidKey */.Mw)(key);
        return true;
    }
    catch {
        return false;
    }
}


/***/ })

};
