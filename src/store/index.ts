/** Public API of the storage layer: the ObjectStore port, its adapters and wrappers. */
export type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from "./types.js";
export { assertValidKey, assertValidPrefix, isValidSegment, TEMP_PREFIX } from "./keys.js";
export { LocalStore } from "./local.js";
export { MemoryStore } from "./memory.js";
export { S3Store, MAX_SINGLE_PUT_BYTES, type S3StoreOptions } from "./s3.js";
export { RetryStore, type RetryOptions } from "./retry.js";
export { ReadOnlyStore } from "./readonly.js";
export { FaultyStore, type OperationHook, type StoreOperation, type StoreOperationName } from "./faulty.js";
export { probeCapabilities, PROBE_PREFIX, type StoreCapabilities } from "./probe.js";
export { openStore, parseS3Location, type S3Location } from "./open.js";
