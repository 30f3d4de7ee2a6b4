/**
 * The kind sandbox without Docker: the generated cluster config, the
 * volumes (PersistentVolumes pre-bound to the user's claims) and the
 * command plan, parsed and checked field by field; and a whole drill run
 * through a recording command runner whose port-forward is a real local
 * HTTP server, so the same checks really run. The cluster is deleted on
 * success and after a failed rollout alike.
 */
import { execFileSync } from "node:child_process";
import { cp, readFile, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KindConfig } from "../../src/config/drill-schema.js";
import { executeDrill, planDrill } from "../../src/ops/drill.js";
import { snapshot } from "../../src/ops/snapshot/snapshot.js";
import type { Repository } from "../../src/repo/repository.js";
import { claimBindings, kindClusterConfig, kindPlan, volumeManifests, type CommandRunner } from "../../src/sandboxes/kind.js";
import { tempDir } from "../helpers/fixtures.js";
import { loadConfig, makeAccountsDb, newRepo } from "../helpers/drill.js";
import { configSourceSpecs } from "../../src/config/sources.js";
import { writeCanary } from "../../src/checks/canary.js";

const KIND: KindConfig = {
  namespace: "pds",
  manifests: ["k8s/pds.yaml", "k8s/svc.yaml"],
  claims: [{ name: "pds-data", source: "pds" }, { name: "knot-data", namespace: "knot", source: "knot", "sub-path": "data", capacity: "2Gi", "storage-class": "local" }],
  rollout: ["deployment/pds"],
  "rollout-timeout": "2min",
  "port-forward": { resource: "svc/pds", port: 3000 },
  "load-images": ["pds:dev"],
};

describe("generated kind files", () => {
  it("mounts the sandbox into the node", () => {
    const c = parse(kindClusterConfig({ name: "restorable-drill-x", hostPath: "/tmp/sb", nodeImage: "kindest/node:v1.31.0" })) as Record<string, unknown>;
    expect(c).toEqual({
      kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", name: "restorable-drill-x",
      nodes: [{ role: "control-plane", image: "kindest/node:v1.31.0", extraMounts: [{ hostPath: "/tmp/sb", containerPath: "/restorable" }] }],
    });
  });

  it("binds a PersistentVolume on each restored source to the user's claim", () => {
    const b = claimBindings(KIND, "/tmp/sb", [{ name: "pds", path: "/tmp/sb/restored/pds" }, { name: "knot", path: "/tmp/sb/srv/knot" }]);
    const docs = parseAllDocuments(volumeManifests(b, ["pds"])).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(["Namespace/pds", "Namespace/knot", "PersistentVolume/restorable-pds-pds-data", "PersistentVolume/restorable-knot-knot-data"]);
    const [pv1, pv2] = docs.slice(2);
    expect(pv1!.spec).toEqual({
      capacity: { storage: "10Gi" }, accessModes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"], persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "standard", claimRef: { namespace: "pds", name: "pds-data" }, hostPath: { path: "/restorable/restored/pds", type: "Directory" },
    });
    expect(pv2!.spec).toMatchObject({ capacity: { storage: "2Gi" }, storageClassName: "local", claimRef: { namespace: "knot", name: "knot-data" }, hostPath: { path: "/restorable/srv/knot/data" } });
  });

  it("plans create, load, apply, rollout, port-forward, diagnostics on failure, and delete always", () => {
    const plan = kindPlan(KIND, { clusterName: "c1", files: { clusterConfig: "/sb/kind/cluster.yaml", volumes: "/sb/kind/volumes.yaml" }, configDir: "/cfg", localPort: 41000 });
    expect(plan.map((c) => c.id)).toEqual(["create-cluster", "load-image", "apply-volumes", "apply-manifests", "apply-manifests", "rollout", "port-forward", "diagnostics", "delete-cluster"]);
    expect(plan.map((c) => c.argv.join(" "))).toEqual([
      "kind create cluster --name c1 --config /sb/kind/cluster.yaml --wait 120s",
      "kind load docker-image pds:dev --name c1",
      "kubectl --context kind-c1 apply -f /sb/kind/volumes.yaml",
      "kubectl --context kind-c1 -n pds apply -f /cfg/k8s/pds.yaml",
      "kubectl --context kind-c1 -n pds apply -f /cfg/k8s/svc.yaml",
      "kubectl --context kind-c1 -n pds rollout status deployment/pds --timeout=120s",
      "kubectl --context kind-c1 -n pds port-forward --address 127.0.0.1 svc/pds 41000:3000",
      "kubectl --context kind-c1 get all,pv,pvc,events -A -o wide",
      "kind delete cluster --name c1",
    ]);
    expect(plan.find((c) => c.id === "port-forward")?.background).toBe(true);
    expect(plan.at(-1)?.always).toBe(true);
    expect(plan.find((c) => c.id === "diagnostics")?.onFailure).toBe(true);
    const k = kindPlan({ ...KIND, manifests: undefined, kustomize: "overlays/drill" }, { clusterName: "c1", files: { clusterConfig: "a", volumes: "b" }, configDir: "/cfg", localPort: 1 });
    expect(k.filter((c) => c.id === "apply-manifests").map((c) => c.argv.slice(-2))).toEqual([["-k", "/cfg/overlays/drill"]]);
  });
});

/** A runner that records commands, fails those matching `failOn`, and serves HTTP on the port-forward's local port. */
function fakeRunner(failOn?: RegExp): CommandRunner & { ran: string[]; files: Record<string, string> } {
  const ran: string[] = [];
  const files: Record<string, string> = {};
  return {
    ran, files,
    async run(argv) {
      const line = argv.join(" ");
      ran.push(line);
      const cfg = argv.indexOf("--config");
      if (cfg > 0) files.cluster = await readFile(argv[cfg + 1]!, "utf8");
      if (line.includes("volumes.yaml")) files.volumes = await readFile(argv.at(-1)!, "utf8");
      if (failOn?.test(line)) return { ok: false, observed: "exit status 1", output: "error: deployment \"pds\" exceeded its progress deadline" };
      return { ok: true, observed: "exit status 0", output: "" };
    },
    start(argv) {
      ran.push(`${argv.join(" ")} &`);
      const local = Number(argv.at(-1)!.split(":")[0]);
      const srv = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ handle: "alice.test", did: "did:plc:alice" }));
      }).listen(local, "127.0.0.1");
      return { stop: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
    },
  };
}

describe("a drill in the kind sandbox (recorded runner)", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let repo: Repository;
  const yml = (extra = ""): string => `
drill:
  sandbox: kind
  kind:
    cluster-name: drill-test
    manifests: [k8s/app.yaml]
    claims: [{ name: pds-data, source: pds }]
    rollout: [deployment/pds]
    port-forward: { resource: svc/pds, port: 3000 }
  steps:
    - { name: 10-seq, type: sql, db: "\${sources.pds}/account.sqlite", statements: "UPDATE account SET balance = 0 WHERE id = 1" }
  checks:
    - { name: handle, type: http, url: "http://127.0.0.1:\${port}/", expect: ['$.handle == "alice.test"'] }
    - { name: zeroed, type: sql, db: "\${sources.pds}/account.sqlite", query: "SELECT balance FROM account WHERE id = 1", expect: 0 }
${extra}`;

  beforeAll(async () => {
    dir = await tempDir("restorable-kind-");
    await mkdir(join(dir.path, "pds"));
    await mkdir(join(dir.path, "k8s"));
    await writeFile(join(dir.path, "k8s/app.yaml"), "kind: Deployment\n");
    makeAccountsDb(join(dir.path, "pds/account.sqlite"));
    repo = await newRepo(dir.path);
    await snapshot(repo, { sources: [{ kind: "directory", name: "pds", path: join(dir.path, "pds") }] });
  });
  afterAll(() => dir.cleanup());

  it("restores, runs steps, creates the cluster, forwards, checks and deletes the cluster", async () => {
    const loaded = await loadConfig(dir.path, yml());
    const plan = await planDrill(repo, loaded, { env: process.env });
    const runner = fakeRunner();
    const r = await executeDrill(repo, plan, { kindRunner: runner, record: false, tmpDir: dir.path });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.sandbox.kind).toBe("kind");
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([["handle", "passed"], ["zeroed", "passed"]]);
    const sb = r.sandbox.path;
    expect(runner.ran.map((l) => l.replaceAll(sb, "SB").replaceAll(dir.path, "CFG").replace(/\d{4,5}:3000/, "PORT:3000"))).toEqual([
      "kind create cluster --name drill-test --config SB/kind/cluster.yaml --wait 120s",
      "kubectl --context kind-drill-test apply -f SB/kind/volumes.yaml",
      "kubectl --context kind-drill-test -n default apply -f CFG/k8s/app.yaml",
      "kubectl --context kind-drill-test -n default rollout status deployment/pds --timeout=180s",
      "kubectl --context kind-drill-test -n default port-forward --address 127.0.0.1 svc/pds PORT:3000 &",
      "kind delete cluster --name drill-test",
    ]);
    expect((parse(runner.files.cluster!) as { nodes: { extraMounts: unknown[] }[] }).nodes[0]!.extraMounts).toEqual([{ hostPath: sb, containerPath: "/restorable" }]);
    const pv = parseAllDocuments(runner.files.volumes!).map((d) => d.toJS() as { kind: string; spec?: { hostPath: { path: string }; claimRef: unknown } });
    expect(pv).toHaveLength(1);
    expect(pv[0]!.spec).toMatchObject({ hostPath: { path: "/restorable/restored/pds" }, claimRef: { namespace: "default", name: "pds-data" } });
    expect(r.phases.startToReadyMs).toBeGreaterThanOrEqual(0);
    expect(r.rtoMs).toBeGreaterThan(0);
    expect(existsSync(sb)).toBe(false);
  });

  it("after a failed rollout: checks skipped, diagnostics collected, cluster deleted, sandbox removed", async () => {
    const loaded = await loadConfig(dir.path, yml());
    const plan = await planDrill(repo, loaded, { env: process.env });
    const runner = fakeRunner(/rollout status/);
    const r = await executeDrill(repo, plan, { kindRunner: runner, record: false, tmpDir: dir.path });
    expect(r.ok).toBe(false);
    expect(r.failures[0]).toBe("rollout failed (kubectl --context kind-drill-test -n default rollout status deployment/pds --timeout=180s): exit status 1");
    expect(r.checks.every((c) => c.status === "skipped")).toBe(true);
    expect(runner.ran.slice(-2)).toEqual(["kubectl --context kind-drill-test get all,pv,pvc,events -A -o wide", "kind delete cluster --name drill-test"]);
    expect(runner.ran.some((l) => l.includes("port-forward"))).toBe(false);
    expect(r.logTail).toContain("exceeded its progress deadline");
    expect(r.commands?.find((c) => c.argv.includes("rollout"))?.ok).toBe(false);
    expect(existsSync(r.sandbox.path)).toBe(false);
  });

  it("names a claim whose source the snapshot lacks", async () => {
    const loaded = await loadConfig(dir.path, yml().replace("source: pds", "source: knot"));
    await expect(planDrill(repo, loaded, { env: process.env })).rejects.toThrow(/drill\.kind\.claims\[0\]\.source: snapshot \S+ has no source "knot" \(it has: pds\)/);
  });
});

describe("the e2e-kind workflow's drill (test/fixtures/kind), with the recorded runner", () => {
  it("is valid, restores, runs its step, plans the cluster and passes its checks", async () => {
    const dir = await tempDir("restorable-kind-fixture-");
    try {
      await cp(join(import.meta.dirname, "../fixtures/kind"), dir.path, { recursive: true, filter: (src) => !/\/(data|repo)$/.test(src) });
      execFileSync(process.execPath, [join(import.meta.dirname, "../fixtures/kind/make-data.mjs"), dir.path], { stdio: "pipe" });
      const loaded = await loadConfig(dir.path, await readFile(join(dir.path, "restorable.yml"), "utf8"));
      const repo = await newRepo(dir.path);
      writeCanary(join(dir.path, "data/site/app.sqlite"));
      await snapshot(repo, { sources: configSourceSpecs(loaded) });
      const runner = fakeRunner();
      const r = await executeDrill(repo, await planDrill(repo, loaded, { env: process.env }), { kindRunner: runner, record: false, tmpDir: dir.path });
      expect(r.failures).toEqual([]);
      expect(r.checks.map((c) => c.status)).toEqual(["passed", "passed", "passed", "passed"]);
      expect(runner.ran).toEqual([
        expect.stringMatching(/^kind create cluster --name restorable-drill-[0-9a-f]{6} --config \S+\/kind\/cluster\.yaml --wait 120s$/),
        expect.stringMatching(/^kubectl --context kind-restorable-drill-[0-9a-f]{6} apply -f \S+\/kind\/volumes\.yaml$/),
        expect.stringMatching(/^kubectl --context \S+ -n drill apply -f \S+\/k8s\/site\.yaml$/),
        expect.stringMatching(/^kubectl --context \S+ -n drill rollout status deployment\/site --timeout=300s$/),
        expect.stringMatching(/^kubectl --context \S+ -n drill port-forward --address 127\.0\.0\.1 svc\/site \d+:8080 &$/),
        expect.stringMatching(/^kind delete cluster --name restorable-drill-[0-9a-f]{6}$/),
      ]);
      const docs = parseAllDocuments(runner.files.volumes!).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: unknown });
      expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(["Namespace/drill", "PersistentVolume/restorable-drill-site-data"]);
      expect(docs[1]!.spec).toMatchObject({ capacity: { storage: "1Gi" }, claimRef: { namespace: "drill", name: "site-data" }, hostPath: { path: "/restorable/restored/site" } });
    } finally {
      await dir.cleanup();
    }
  });
});
