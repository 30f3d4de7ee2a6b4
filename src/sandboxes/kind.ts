/**
 * The `kind` sandbox: the snapshot is restored on the runner (read-only
 * repository) and the post-restore steps run there; then a kind cluster
 * (https://kind.sigs.k8s.io) is created whose node mounts the sandbox
 * folder (`extraMounts`, https://kind.sigs.k8s.io/docs/user/configuration/#extra-mounts),
 * a PersistentVolume per configured claim points at the restored source
 * inside the node (`hostPath`) and is pre-bound to the user's claim
 * (`claimRef`, https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reserving-a-persistentvolume),
 * the user's manifests (files or a kustomize folder) are applied, the
 * workloads' rollouts awaited, a port forwarded to `${port}`, the same
 * checks run, and the cluster is deleted whatever happened.
 *
 * Docker and kind cannot run on the machines this was written on: the
 * generated cluster config, volumes and command plan are unit-tested here,
 * and `.github/workflows/e2e-kind.yml` runs a real kind drill on GitHub's
 * ubuntu-latest runners (docs/drills.md says which parts ran where).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { random, toHex } from "../core/crypto.js";
import { describeExit, execInGroup, killGroup } from "../checks/exec.js";
import type { KindConfig } from "../config/drill-schema.js";
import { parseDuration } from "../config/duration.js";
import { ConfigError, RestorableError } from "../core/errors.js";
import { drillEnv, drillVars, freePort, readRestoredCanary, runChecks, runSteps, skipChecks } from "./phases.js";
import { probeTcp } from "./readiness.js";
import { restoreIntoSandbox, type PlacedSource, type SandboxRestore } from "./restore-into.js";
import type { CheckRecord, PhaseDurations, SandboxOptions, SandboxRun, StepRecord } from "./types.js";

/** Where the sandbox folder appears inside the kind node. */
export const NODE_MOUNT = "/restorable";
/** Defaults: PV capacity, storage class (kind's default class is `standard`), rollout timeout. */
export const KIND_DEFAULTS = { capacity: "10Gi", storageClass: "standard", rolloutTimeoutMs: 180_000, portForwardTimeoutMs: 30_000 } as const;

/** The kind cluster configuration (kind.x-k8s.io/v1alpha4) mounting `hostPath` at NODE_MOUNT in the node. */
export function kindClusterConfig(opts: { readonly name: string; readonly hostPath: string; readonly nodeImage?: string }): string {
  return stringify({
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    name: opts.name,
    nodes: [{
      role: "control-plane",
      ...(opts.nodeImage ? { image: opts.nodeImage } : {}),
      extraMounts: [{ hostPath: opts.hostPath, containerPath: NODE_MOUNT }],
    }],
  });
}

/** One claim to satisfy: a PV on `nodePath` (inside the node) pre-bound to `namespace/name`. */
export interface ClaimBinding {
  readonly name: string;
  readonly namespace: string;
  readonly nodePath: string;
  readonly capacity: string;
  readonly storageClass: string;
}

/** The claims of the kind config resolved against where the sources were restored. */
export function claimBindings(kind: KindConfig, sandbox: string, sources: readonly Pick<PlacedSource, "name" | "path">[]): ClaimBinding[] {
  return kind.claims.map((c, i) => {
    const src = sources.find((s) => s.name === c.source);
    if (!src) throw new ConfigError(`drill.kind.claims[${i}].source: the snapshot has no source "${c.source}" (it has: ${sources.map((s) => s.name).join(", ")})`, { field: `drill.kind.claims[${i}].source` });
    const rel = relative(sandbox, join(src.path, c["sub-path"] ?? ""));
    return {
      name: c.name, namespace: c.namespace ?? kind.namespace ?? "default",
      nodePath: rel === "" ? NODE_MOUNT : `${NODE_MOUNT}/${rel.split("\\").join("/")}`,
      capacity: c.capacity ?? KIND_DEFAULTS.capacity, storageClass: c["storage-class"] ?? KIND_DEFAULTS.storageClass,
    };
  });
}

/** A PV name for a claim: `restorable-<namespace>-<claim>`, cut to 63 characters. */
export function volumeName(b: Pick<ClaimBinding, "name" | "namespace">): string {
  return `restorable-${b.namespace}-${b.name}`.slice(0, 63).replace(/[-.]+$/, "");
}

/**
 * The manifests restorable applies before the user's: a Namespace for every namespace other than `default`,
 * and one PersistentVolume per claim (hostPath on the node, `claimRef` to the claim, reclaim policy Retain,
 * every access mode so any claim's modes are satisfied).
 */
export function volumeManifests(bindings: readonly ClaimBinding[], extraNamespaces: readonly string[] = []): string {
  const namespaces = [...new Set([...bindings.map((b) => b.namespace), ...extraNamespaces])].filter((n) => n !== "default");
  const docs: unknown[] = [
    ...namespaces.map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n } })),
    ...bindings.map((b) => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: volumeName(b), labels: { "app.kubernetes.io/managed-by": "restorable-drill" } },
      spec: {
        capacity: { storage: b.capacity },
        accessModes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: b.storageClass,
        claimRef: { namespace: b.namespace, name: b.name },
        hostPath: { path: b.nodePath, type: "Directory" },
      },
    })),
  ];
  return docs.map((d) => stringify(d)).join("---\n");
}

/** One command of the plan. `background` runs until the end (port-forward); `always` runs even after a failure. */
export interface PlannedCommand {
  readonly id: "create-cluster" | "load-image" | "apply-volumes" | "apply-manifests" | "rollout" | "port-forward" | "diagnostics" | "delete-cluster";
  readonly argv: readonly string[];
  readonly timeoutMs?: number;
  readonly background?: boolean;
  readonly always?: boolean;
  /** Only when something failed (diagnostics). */
  readonly onFailure?: boolean;
}

/** Files the plan refers to. */
export interface KindFiles {
  readonly clusterConfig: string;
  readonly volumes: string;
}

/**
 * The command plan, in order: create the cluster, load images, apply the volumes, apply the manifests (-f per
 * file, or -k), wait for each rollout, port-forward (background), [checks run here], diagnostics on failure,
 * delete the cluster (always).
 */
export function kindPlan(kind: KindConfig, opts: { readonly clusterName: string; readonly files: KindFiles; readonly configDir: string; readonly localPort: number }): PlannedCommand[] {
  const ctx = ["--context", `kind-${opts.clusterName}`];
  const ns = kind.namespace ?? "default";
  const rolloutMs = kind["rollout-timeout"] !== undefined ? parseDuration(kind["rollout-timeout"]) : KIND_DEFAULTS.rolloutTimeoutMs;
  const plan: PlannedCommand[] = [
    { id: "create-cluster", argv: ["kind", "create", "cluster", "--name", opts.clusterName, "--config", opts.files.clusterConfig, "--wait", "120s"], timeoutMs: 600_000 },
    ...(kind["load-images"] ?? []).map((img): PlannedCommand => ({ id: "load-image", argv: ["kind", "load", "docker-image", img, "--name", opts.clusterName], timeoutMs: 600_000 })),
    { id: "apply-volumes", argv: ["kubectl", ...ctx, "apply", "-f", opts.files.volumes], timeoutMs: 120_000 },
    ...(kind.kustomize !== undefined
      ? [{ id: "apply-manifests", argv: ["kubectl", ...ctx, "-n", ns, "apply", "-k", resolve(opts.configDir, kind.kustomize)], timeoutMs: 120_000 } as PlannedCommand]
      : (kind.manifests ?? []).map((f): PlannedCommand => ({ id: "apply-manifests", argv: ["kubectl", ...ctx, "-n", ns, "apply", "-f", resolve(opts.configDir, f)], timeoutMs: 120_000 }))),
    ...(kind.rollout ?? []).map((r): PlannedCommand => ({ id: "rollout", argv: ["kubectl", ...ctx, "-n", ns, "rollout", "status", r, `--timeout=${Math.ceil(rolloutMs / 1000)}s`], timeoutMs: rolloutMs + 30_000 })),
  ];
  const pf = kind["port-forward"];
  if (pf) plan.push({ id: "port-forward", argv: ["kubectl", ...ctx, "-n", pf.namespace ?? ns, "port-forward", "--address", "127.0.0.1", pf.resource, `${opts.localPort}:${pf.port}`], background: true });
  plan.push(
    { id: "diagnostics", argv: ["kubectl", ...ctx, "get", "all,pv,pvc,events", "-A", "-o", "wide"], timeoutMs: 60_000, onFailure: true },
    { id: "delete-cluster", argv: ["kind", "delete", "cluster", "--name", opts.clusterName], timeoutMs: 300_000, always: true },
  );
  return plan;
}

/** Runs commands; replaceable in tests. */
export interface CommandRunner {
  /** Runs to the end; `output` is the tail of stdout and stderr. */
  run(argv: readonly string[], opts: { readonly timeoutMs?: number; readonly env: Readonly<Record<string, string>>; readonly cwd: string; readonly signal?: AbortSignal }): Promise<{ ok: boolean; observed: string; output: string }>;
  /** Starts in the background; `stop()` ends it (and its process group). */
  start(argv: readonly string[], opts: { readonly env: Readonly<Record<string, string>>; readonly cwd: string }): { stop(): Promise<void> };
}

/** The real runner: process groups, as for steps and commands (checks/exec.ts). */
export const processRunner: CommandRunner = {
  async run(argv, opts) {
    const r = await execInGroup(argv, { env: opts.env, cwd: opts.cwd, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    const ok = !r.spawnError && !r.timedOut && !r.aborted && r.exitCode === 0;
    return { ok, observed: describeExit(r, opts.timeoutMs), output: [r.stdoutTail, r.stderrTail].filter(Boolean).join("\n") };
  },
  start(argv, opts) {
    const [file, ...args] = argv;
    const child = spawn(file ?? "", args, { env: { ...opts.env }, cwd: opts.cwd, stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    return {
      async stop() {
        if (child.pid === undefined) return;
        killGroup(child.pid, "SIGTERM");
        for (let i = 0; i < 40 && killGroup(child.pid, 0); i++) await sleep(50);
        killGroup(child.pid, "SIGKILL");
      },
    };
  },
};

/** Options of the kind sandbox: the local ones plus the kind section and, for tests, the runner and cluster name. */
export interface KindSandboxOptions extends SandboxOptions {
  readonly kind: KindConfig;
  readonly runner?: CommandRunner;
}

/** Runs a drill in a kind cluster. Never throws for a failing drill: failures are in the result. */
export async function runKindSandbox(opts: KindSandboxOptions): Promise<SandboxRun> {
  const { plan, signal, kind } = opts;
  const runner = opts.runner ?? processRunner;
  const emit = opts.onEvent ?? (() => undefined);
  const sandbox = await mkdtemp(join(opts.tmpDir ?? tmpdir(), "restorable-drill-"));
  const clusterName = kind["cluster-name"] ?? `restorable-drill-${toHex(random(3))}`;
  const failures: string[] = [];
  const phases: { -readonly [K in keyof PhaseDurations]: PhaseDurations[K] } = {};
  const commands: { argv: readonly string[]; ok: boolean; observed: string }[] = [];
  let restored: SandboxRestore | undefined;
  let steps: StepRecord[] = plan.steps.map((s) => ({ name: s.name, type: s.type, status: "skipped", observed: "skipped: not reached", durationMs: 0 }));
  let checks: CheckRecord[] = skipChecks(plan, "not reached");
  let canary: SandboxRun["canary"];
  let rtoMs: number | undefined;
  let cmdPlan: PlannedCommand[] = [];
  let env: Record<string, string> = { ...plan.baseEnv };
  const background: { stop(): Promise<void> }[] = [];
  let tail: string | undefined;
  const exec = async (c: PlannedCommand): Promise<boolean> => {
    emit({ phase: "kind", message: c.argv.join(" ") });
    const r = await runner.run(c.argv, { env, cwd: sandbox, ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}), ...(signal && !c.always ? { signal } : {}) });
    commands.push({ argv: c.argv, ok: r.ok, observed: r.observed });
    if (!r.ok) tail = r.output;
    if (c.id === "diagnostics") tail = [tail, r.output].filter(Boolean).join("\n--- diagnostics ---\n");
    return r.ok;
  };
  try {
    const port = await freePort();
    emit({ phase: "restore", message: `restoring snapshot ${plan.manifest.id} into ${sandbox}` });
    const restoreStart = performance.now();
    restored = await restoreIntoSandbox(opts.repo, plan.manifest, sandbox, plan.placements, signal);
    phases.restoreMs = Math.round(performance.now() - restoreStart);
    const vars = drillVars(plan, sandbox, port, restored.sources);
    env = drillEnv(plan, vars, restored.sources);
    canary = readRestoredCanary(plan, vars);
    if (canary?.error) failures.push(`canary: ${canary.error}`);
    const ctx = { sandbox, env, vars, onEvent: emit, ...(signal ? { signal } : {}) };
    const stepsStart = performance.now();
    const s = await runSteps(plan, ctx);
    steps = s.records;
    phases.stepsMs = Math.round(performance.now() - stepsStart);
    if (s.failed) {
      failures.push(`step ${s.failed.name} failed: ${s.failed.observed}`);
      checks = skipChecks(plan, `step ${s.failed.name} failed`);
      return await finish();
    }
    // The cluster.
    const files = { clusterConfig: join(sandbox, "kind", "cluster.yaml"), volumes: join(sandbox, "kind", "volumes.yaml") };
    await mkdir(join(sandbox, "kind"));
    await writeFile(files.clusterConfig, kindClusterConfig({ name: clusterName, hostPath: sandbox, ...(kind["node-image"] ? { nodeImage: kind["node-image"] } : {}) }));
    await writeFile(files.volumes, volumeManifests(claimBindings(kind, sandbox, restored.sources), kind.namespace ? [kind.namespace] : []));
    cmdPlan = kindPlan(kind, { clusterName, files, configDir: plan.configDir, localPort: port });
    const startStart = performance.now();
    for (const c of cmdPlan.filter((x) => !x.always && !x.onFailure)) {
      if (signal?.aborted) return await finish();
      if (c.background) {
        emit({ phase: "kind", message: `${c.argv.join(" ")} (background)` });
        background.push(runner.start(c.argv, { env, cwd: sandbox }));
        commands.push({ argv: c.argv, ok: true, observed: "started" });
        const ready = await waitPort(port, KIND_DEFAULTS.portForwardTimeoutMs, signal);
        if (!ready) {
          failures.push(`port-forward to 127.0.0.1:${port} did not accept connections within ${KIND_DEFAULTS.portForwardTimeoutMs} ms`);
          checks = skipChecks(plan, "the port-forward did not come up");
          return await finish();
        }
        continue;
      }
      if (!(await exec(c))) {
        failures.push(`${c.id} failed (${c.argv.join(" ")}): ${commands.at(-1)?.observed ?? ""}`);
        checks = skipChecks(plan, `${c.id} failed`);
        return await finish();
      }
    }
    phases.startToReadyMs = Math.round(performance.now() - startStart);
    const checksStart = performance.now();
    const c = await runChecks(plan, ctx);
    checks = c.records;
    phases.checksMs = Math.round(c.endedAt - checksStart);
    if (c.failed > 0) failures.push(`${c.failed} of ${plan.checks.length} check(s) failed`);
    else if (!signal?.aborted) rtoMs = Math.round(c.endedAt - restoreStart);
    return await finish();
  } catch (err) {
    if (!(signal?.aborted)) failures.push(err instanceof RestorableError ? `${err.code}: ${err.message}` : (err as Error).message);
    return await finish();
  }

  async function finish(): Promise<SandboxRun> {
    const teardownStart = performance.now();
    const problems: string[] = [];
    for (const b of background) await b.stop();
    if (cmdPlan.length > 0) {
      if (failures.length > 0 || checks.some((x) => x.status === "failed")) for (const c of cmdPlan.filter((x) => x.onFailure)) await exec(c);
      for (const c of cmdPlan.filter((x) => x.always)) if (!(await exec(c))) problems.push(`${c.argv.join(" ")} failed: ${commands.at(-1)?.observed ?? ""}`);
    }
    if (!opts.keep) await rm(sandbox, { recursive: true, force: true, maxRetries: 3 }).catch((err: Error) => problems.push(`could not remove ${sandbox}: ${err.message}`));
    phases.teardownMs = Math.round(performance.now() - teardownStart);
    return {
      sandboxKind: "kind", sandbox, kept: opts.keep === true,
      ...(restored ? { restore: restored } : {}), ...(canary ? { canary } : {}),
      steps, checks, phases, ...(rtoMs !== undefined ? { rtoMs } : {}), ...(tail ? { logTail: tail.slice(-4096) } : {}),
      failures, interrupted: signal?.aborted === true, teardownProblems: problems, commands,
    };
  }
}

async function waitPort(port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    if ((await probeTcp("127.0.0.1", port)).ok) return true;
    await sleep(200);
  }
  return false;
}
