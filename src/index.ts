/**
 * restorable as a library: open a repository, take snapshots, restore,
 * verify, drill. The CLI (src/cli) and the GitHub actions are thin layers over
 * exactly these functions. Errors are the typed errors of ./core/errors.js.
 */
export * from "./core/errors.js";
export type { SnapshotManifest, SourceRecord, SnapshotStats, ListingEntry } from "./core/manifest.js";
export type { Secret } from "./core/keyslot.js";
export { parseRawKey } from "./core/keyslot.js";
export { parseSelector, resolveSelector } from "./core/snapshot-id.js";
export { Repository, type RepoConfig, type InitOptions } from "./repo/repository.js";
export { addAnnotation, listAnnotations, type Annotation } from "./repo/annotations.js";
export { RepoLock, listLocks, unlock } from "./repo/lock.js";
export type { ObjectStore, ObjectInfo } from "./store/types.js";
export { LocalStore } from "./store/local.js";
export { S3Store } from "./store/s3.js";
export { ReadOnlyStore } from "./store/readonly.js";
export { openStore } from "./store/open.js";
export { snapshot, type SnapshotOptions, type SnapshotResult, type SourceSpec } from "./ops/snapshot/snapshot.js";
export { restore, type RestoreOptions, type RestoreResult } from "./ops/restore/restore.js";
export { verify, type VerifyOptions, type VerifyReport } from "./ops/verify/verify.js";
export { repairIndex } from "./ops/repair/repair-index.js";
export { selectSnapshot } from "./ops/select.js";
export { planDrill, executeDrill, runDrill, reportMarkdown, reportSummary, type DrillPlan, type DrillReport } from "./ops/drill.js";
export { writeCanary, readCanary } from "./checks/canary.js";
export { VERSION } from "./version.js";
