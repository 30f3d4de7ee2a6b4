#!/usr/bin/env node
// Measures each action bundle (dist/<name>/): its size, and its cold start, from process start to
// the first request to storage. Each bundle is copied outside the repository (no node_modules),
// started with Node 24 and INPUT_* variables as a runner would, against a loopback HTTP server
// posing as the S3 endpoint; the time from spawn() to that server's first request is the cold
// start (module loading, input reading and masking, config parsing, AWS SDK set-up). The process
// is then killed. Node's own start (`node -e 0`) is measured the same way for reference.
//
// Rewrites the section between <!-- bench:actions:start --> and <!-- bench:actions:end --> in
// docs/benchmarks.md (appended when the markers are missing). Usage: node scripts/bench-actions.mjs [runs]
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ACTIONS = ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"];
const RUNS = Number(process.argv[2] ?? 7);
const START = "<!-- bench:actions:start -->";
const END = "<!-- bench:actions:end -->";

async function sizes(dir) {
  let js = 0;
  let native = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const size = (await stat(join(e.parentPath, e.name))).size;
    if (e.name.endsWith(".js")) js += size;
    else if (e.name.endsWith(".node")) native += size;
  }
  return { js, native };
}

/** A server that resolves `first` with the time of its first request, and answers 503. */
async function fakeS3() {
  let resolveFirst;
  let first = new Promise((r) => (resolveFirst = r));
  const server = createServer((req, res) => {
    resolveFirst?.(performance.now());
    resolveFirst = undefined;
    res.writeHead(503).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    next() {
      first = new Promise((r) => (resolveFirst = r));
      return first;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

async function coldStart(bundle, ws, s3, name) {
  const inputs = {
    repository: "s3://bench-bucket/repo", password: "bench", "s3-endpoint": s3.endpoint, "index-cache": "false",
    ...(name === "clone-cluster" ? { target: join(ws, "clone"), checks: "false" } : {}),
  };
  const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: ws, RUNNER_TEMP: ws, AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench-secret" };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const first = s3.next();
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(bundle, "index.js")], { cwd: ws, env, stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", () => r(undefined)));
  const t1 = await Promise.race([first, exited.then(() => { throw new Error(`${name} exited before any storage request`); })]);
  child.kill("SIGKILL");
  await exited;
  return t1 - t0;
}

async function nodeStart() {
  const t0 = performance.now();
  await new Promise((r) => spawn(process.execPath, ["-e", "0"], { stdio: "ignore" }).on("exit", r));
  return performance.now() - t0;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

const tmp = await mkdtemp(join(tmpdir(), "restorable-bench-actions-"));
const ws = join(tmp, "ws");
await cp(join(ROOT, "test", "fixtures", "actions-ci", "restorable.yml"), join(ws, "restorable.yml"), { recursive: true }).catch(async () => {
  await writeFile(join(ws, "restorable.yml"), "sources: [{name: app, path: ./data}]\n");
});
const s3 = await fakeS3();
const rows = [];
try {
  const base = [];
  for (let i = 0; i < RUNS; i++) base.push(await nodeStart());
  for (const name of ACTIONS) {
    const bundle = join(tmp, "bundles", name);
    await cp(join(ROOT, "dist", name), bundle, { recursive: true });
    const { js, native } = await sizes(bundle);
    const times = [];
    await coldStart(bundle, ws, s3, name); // warm the OS file cache once, as a runner's second step would be
    for (let i = 0; i < RUNS; i++) times.push(await coldStart(bundle, ws, s3, name));
    rows.push({ name, js, native, median: median(times), min: Math.min(...times) });
    console.log(`${name}: ${mib(js)} JS + ${mib(native)} native; cold start median ${median(times).toFixed(0)} ms`);
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const section = [
    START,
    "## GitHub Action bundles",
    "",
    `Measured by \`node scripts/bench-actions.mjs\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.versions.node}, ${cpus().length} cores (${cpu}).`,
    "Each bundle (`dist/<name>/`: index.js, its chunks and the two worker scripts) was copied outside the repository",
    "(no node_modules) and started with INPUT_* variables as a runner does; **cold start** is the time from spawning the",
    "process to the first request reaching the storage endpoint (a loopback HTTP server posing as S3): loading the",
    "bundle, masking secrets, reading inputs and restorable.yml, setting up the AWS SDK. " + `Median and minimum of ${RUNS} runs`,
    `after one warm-up run. For reference, \`node -e 0\` starts in ${median(base).toFixed(0)} ms (median) here.`,
    "",
    "| action | JavaScript | better-sqlite3 binary | cold start, median | cold start, min |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.name} | ${mib(r.js)} | ${r.native ? mib(r.native) : "-"} | ${r.median.toFixed(0)} ms | ${r.min.toFixed(0)} ms |`),
    "",
    "The binary is the same file in every bundle (git stores it once). The AWS SDK is a separate chunk loaded only for",
    "`s3://` repositories, so a local-folder repository starts faster than shown here.",
    END,
  ].join("\n");
  const file = join(ROOT, "docs", "benchmarks.md");
  const text = await readFile(file, "utf8").catch(() => "# Benchmarks\n");
  const next = text.includes(START) && text.includes(END)
    ? text.slice(0, text.indexOf(START)) + section + text.slice(text.indexOf(END) + END.length)
    : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(file, next);
  console.log(`docs/benchmarks.md: section ${START} rewritten`);
} finally {
  await s3.close();
  await rm(tmp, { recursive: true, force: true });
}
