#!/usr/bin/env node
/**
 * `npm run bench`: restorable against restic on data set D1, in one run, on the same data, plus two standalone
 * measurements that justify format choices (chunk size for SQLite databases, zstd frame grouping).
 *
 * What it does:
 *  1. Builds the project (`npm run build`; skip with BENCH_NO_BUILD=1) and copies bin/ + build/ to BENCH_DIR/app, so a
 *     rebuild by someone else during the run cannot change the code under test.
 *  2. Builds D1 once with ../shared/bench/make-dataset.sh (or BENCH_DATASET_SCRIPT) into BENCH_DIR/d1
 *     (default ~/.cache/restorable-bench/d1) and keeps a pristine copy of app.sqlite, so change C1 is applied from
 *     the same starting point every run. BENCH_QUICK=1 uses a small set instead (BENCH_DIR/quick: the same SQL with
 *     200,000 rows, C1 scaled down by 10, and 2,000 files of the tree) to check the script in about a minute.
 *  3. For each tool (restorable through its CLI, restic 0.14 from Debian), each command timed from process start to
 *     exit and run under `/usr/bin/time -f` for peak RSS (KiB) and CPU time: init, full snapshot of data/, C1,
 *     incremental snapshot, restore latest into an empty folder, verify --read-data / check --read-data; repository
 *     size (du -sb) after each snapshot. The restored trees are checked (file count, DB row count) before timing
 *     results are trusted. BENCH_ROUNDS=N repeats the whole sequence on fresh repositories and reports medians.
 *  4. Standalone (in this process): bytes added by C1 when the DB is cut into page-aligned fixed chunks of
 *     4/8/16/64/256 KiB (SHA-256 per chunk, new chunks compressed one by one with zstd-3), chunks per version and the
 *     in-memory index cost (a ChunkIndex from build/core/chunk-index.js filled with that many entries, `bytesUsed`);
 *     zstd-3 size and throughput of the DB's 4 KiB pages compressed one by one vs grouped into 16/64/256 KiB frames.
 *  5. Writes the results between `<!-- bench:core:start -->` and `<!-- bench:core:end -->` in docs/benchmarks.md
 *     (other sections are kept), or BENCH_DOC; a quick run writes BENCH_DIR/quick/benchmarks.md instead. Prints the
 *     same tables.
 *
 * Units: MB = 10^6 bytes, MiB = 2^20 bytes; times in seconds of wall clock.
 * Needs: /usr/bin/time (GNU time), restic, sqlite3, npm (for the data set), Node 24 (node:zlib zstd).
 */
import { Buffer } from "node:buffer";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, cp, mkdir, open, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { cpus, homedir, loadavg, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { constants as zc, zstdCompressSync, zstdDecompressSync } from "node:zlib";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const QUICK = process.env.BENCH_QUICK === "1";
export const BENCH_DIR = resolve(process.env.BENCH_DIR || join(homedir(), ".cache", "restorable-bench"));
const DATASET_SCRIPT = resolve(process.env.BENCH_DATASET_SCRIPT || join(ROOT, "..", "shared", "bench", "make-dataset.sh"));
const ROUNDS = positiveInt("BENCH_ROUNDS", 1);
export const DOC = resolve(process.env.BENCH_DOC || (QUICK ? join(BENCH_DIR, "quick", "benchmarks.md") : join(ROOT, "docs", "benchmarks.md")));
export const TIME_BIN = "/usr/bin/time";
/** A frozen copy of the built CLI: other sessions may rebuild build/ while a run is in progress. */
export const APP = join(BENCH_DIR, "app");
export const PASSWORD = "bench-password-not-secret";
const KiB = 1024;
const CHUNK_SIZES = [4, 8, 16, 64, 256].map((k) => k * KiB);
const FRAME_SIZES = [4, 16, 64, 256].map((k) => k * KiB);
const ZSTD_LEVEL = 3;
/** Levels compared for the format's default (src/core/compress.ts). */
const ZSTD_LEVELS = [1, 2, 3];
/** Targets from issue 2 ("Benchmark"). */
const TARGET_RSS = 300e6;
const MARK_START = "<!-- bench:core:start -->";
const MARK_END = "<!-- bench:core:end -->";
/** Quick mode: the same SQL at 1/10 of the rows; C1 scaled the same way. */
const QUICK_NUMBERS = { 2000000: "200000", 20000: "2000", 500000: "50000", 519999: "51999" };
const QUICK_TREE_FILES = 2000;

export function positiveInt(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

export function log(msg) {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Node's own folder first on PATH, so npm and `#!/usr/bin/env node` use the same Node 24 as this script. */
export function childEnv(extra = {}) {
  return { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, ...extra };
}

/** Runs a command to completion, output inherited (stderr) or captured. @throws Error naming the command on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? childEnv(), stdio: opts.capture ? ["ignore", "pipe", "pipe"] : ["ignore", 2, 2], maxBuffer: 1 << 28, encoding: "utf8" });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}${opts.capture ? `\n${r.stderr}` : ""}`);
  return opts.capture ? r.stdout : "";
}

export function tryOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], cwd: ROOT }).trim();
  } catch {
    return "";
  }
}

/**
 * Runs one measured command: wall time from spawn to exit (ms), and from GNU time peak RSS (bytes) and CPU (s).
 * @throws Error with the command's stderr when it fails.
 */
export async function measure(label, cmd, args, { cwd, env }) {
  const timeFile = join(BENCH_DIR, `.time-${process.pid}`);
  const t0 = performance.now();
  const child = spawn(TIME_BIN, ["-f", "%e %U %S %M", "-o", timeFile, cmd, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const out = [];
  const err = [];
  child.stdout.on("data", (b) => out.push(b));
  child.stderr.on("data", (b) => err.push(b));
  const code = await new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", res);
  });
  const wallMs = performance.now() - t0;
  const stdout = Buffer.concat(out).toString("utf8");
  const stderr = Buffer.concat(err).toString("utf8");
  if (code !== 0) throw new Error(`${label}: \`${cmd} ${args.join(" ")}\` exited with ${code}\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`);
  const [, user, sys, maxKiB] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
  await rm(timeFile, { force: true });
  log(`${label}: ${(wallMs / 1000).toFixed(2)} s, CPU ${(user + sys).toFixed(2)} s, peak RSS ${(maxKiB / 1024).toFixed(0)} MiB`);
  return { wallMs, cpuS: user + sys, rssBytes: maxKiB * 1024, stdout, stderr };
}

export async function duBytes(path) {
  return Number(run("du", ["-sb", path], { capture: true }).split(/\s/)[0]);
}

export async function walkFiles(dir, base = dir, out = []) {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walkFiles(p, base, out);
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

/** Reads every file under `dir` once (puts the data set in the page cache). @returns bytes read. */
export async function warm(dir) {
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  for (const f of await walkFiles(dir)) {
    const fh = await open(join(dir, f), "r");
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }
  return total;
}

export function sha256File(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

// ---------------------------------------------------------------- data set

/** The SQL of make-dataset.sh (create or mutate), scaled for quick mode. @throws Error when the script changed shape. */
function datasetSql(kind) {
  const text = readFileSync(DATASET_SCRIPT, "utf8");
  const re = kind === "create" ? /sqlite3 "\$db" "(PRAGMA journal_mode=WAL;[^"]*)"/ : /sqlite3 "\$db" "(INSERT INTO post[^"]*)"/;
  const m = re.exec(text);
  if (!m) throw new Error(`cannot find the ${kind} SQL in ${DATASET_SCRIPT}; quick mode scales it and needs it`);
  return m[1].replace(/\b\d+\b/g, (n) => QUICK_NUMBERS[n] ?? n);
}

/**
 * Makes sure the data set exists: `<dir>/data` (app.sqlite + tree), `<dir>/pristine/app.sqlite`, `<dir>/.complete`.
 * @returns { dir, description, tree } where tree says where the quick tree came from.
 */
export async function ensureDataset() {
  const dir = join(BENCH_DIR, QUICK ? "quick" : "d1");
  const marker = join(dir, ".complete");
  if (!existsSync(marker)) {
    if (!existsSync(DATASET_SCRIPT)) throw new Error(`data set script not found: ${DATASET_SCRIPT} (set BENCH_DATASET_SCRIPT)`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, "data"), { recursive: true });
    let treeFrom;
    if (!QUICK) {
      log(`building D1 in ${dir} with ${DATASET_SCRIPT} (a few minutes, needs the npm registry)`);
      run("bash", [DATASET_SCRIPT, dir]);
      treeFrom = "make-dataset.sh";
    } else {
      log(`building the quick data set in ${dir}`);
      run("sqlite3", [join(dir, "data", "app.sqlite"), datasetSql("create")], { capture: true });
      const d1Tree = join(BENCH_DIR, "d1", "data", "tree");
      const source = existsSync(join(BENCH_DIR, "d1", ".complete")) ? d1Tree : join(ROOT, "node_modules");
      const files = (await walkFiles(source)).slice(0, QUICK_TREE_FILES);
      for (const f of files) {
        await mkdir(dirname(join(dir, "data", "tree", f)), { recursive: true });
        await copyFile(join(source, f), join(dir, "data", "tree", f));
      }
      treeFrom = `the first ${files.length} files of ${source}`;
    }
    await mkdir(join(dir, "pristine"), { recursive: true });
    await assertNoWal(join(dir, "data", "app.sqlite"));
    await copyFile(join(dir, "data", "app.sqlite"), join(dir, "pristine", "app.sqlite"));
    await writeFile(marker, JSON.stringify({ builtAt: new Date().toISOString(), script: DATASET_SCRIPT, treeFrom }) + "\n");
  }
  if (!existsSync(join(dir, "pristine", "app.sqlite"))) throw new Error(`${dir}/pristine/app.sqlite is missing; delete ${marker} to rebuild the data set`);
  const meta = JSON.parse(await readFile(marker, "utf8"));
  return { dir, data: join(dir, "data"), db: join(dir, "data", "app.sqlite"), pristine: join(dir, "pristine", "app.sqlite"), meta };
}

/** A `-wal` with content would mean the main file is not the whole database. */
export async function assertNoWal(db) {
  const st = await stat(`${db}-wal`).catch(() => undefined);
  if (st && st.size > 0) throw new Error(`${db}-wal holds ${st.size} bytes: the database is open or was not checkpointed; close its users first`);
}

/** Removes leftover empty `-wal`/`-shm` siblings (left by a reader), so every tool sees the same files. */
export async function cleanSiblings(db) {
  await assertNoWal(db);
  for (const s of ["-wal", "-shm", "-journal"]) await rm(db + s, { force: true });
}

export async function resetDb(ds) {
  for (const s of ["", "-wal", "-shm", "-journal"]) await rm(ds.db + s, { force: true });
  await copyFile(ds.pristine, ds.db);
}

function applyC1(ds) {
  if (QUICK) run("sqlite3", [ds.db, datasetSql("mutate")], { capture: true });
  else run("bash", [DATASET_SCRIPT, ds.dir, "mutate"]);
}

export function countRows(db) {
  return Number(run("sqlite3", [`file:${db}?immutable=1`, "SELECT count(*) FROM post"], { capture: true }).trim());
}

// ---------------------------------------------------------------- tools

export function restorableTool(roundDir, app = APP) {
  const env = childEnv({ RESTORABLE_REPOSITORY: join(roundDir, "restorable-repo"), RESTORABLE_PASSWORD: PASSWORD, XDG_CACHE_HOME: join(roundDir, "cache") });
  // Run as an installed CLI runs: the executable itself (its `#!/usr/bin/env node` line); childEnv puts
  // this Node 24 first on PATH.
  const cli = join(app, "bin", "restorable.js");
  return {
    name: "restorable",
    repo: join(roundDir, "restorable-repo"),
    env,
    init: ["init", cli, ["init", "--json"]],
    backup: ["snapshot", cli, ["snapshot", "data", "--json"]],
    restore: (target) => ["restore", cli, ["restore", "latest", "--target", target, "--json"]],
    check: ["verify --read-data", cli, ["verify", "--read-data", "--json"]],
    added: (stdout) => JSON.parse(stdout).bytesAdded,
    command: {
      init: "restorable init",
      backup: "restorable snapshot data",
      restore: "restorable restore latest --target DIR",
      check: "restorable verify --read-data",
    },
  };
}

export function resticTool(roundDir) {
  const env = childEnv({ RESTIC_REPOSITORY: join(roundDir, "restic-repo"), RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: join(roundDir, "cache", "restic"), XDG_CACHE_HOME: join(roundDir, "cache") });
  return {
    name: "restic",
    repo: join(roundDir, "restic-repo"),
    env,
    init: ["init", "restic", ["init"]],
    backup: ["backup", "restic", ["backup", "data", "--json", "--quiet"]],
    restore: (target) => ["restore", "restic", ["restore", "latest", "--target", target]],
    check: ["check --read-data", "restic", ["check", "--read-data"]],
    added: (stdout) => {
      const summary = stdout.trim().split("\n").map((l) => JSON.parse(l)).find((o) => o.message_type === "summary");
      return summary ? summary.data_added : NaN;
    },
    command: {
      init: "restic init",
      backup: "restic backup data",
      restore: "restic restore latest --target DIR",
      check: "restic check --read-data",
    },
  };
}

/** Finds the restored copy of data/ in `target` (restic keeps the absolute source path below the target). */
export async function findRestoredData(target) {
  const files = await walkFiles(target);
  const db = files.find((f) => f.endsWith("/app.sqlite") || f === "app.sqlite");
  if (!db) throw new Error(`restore into ${target}: no app.sqlite found`);
  const prefix = dirname(db) === "." ? "" : `${dirname(db)}/`;
  return { db: join(target, db), files: files.filter((f) => f.startsWith(prefix)).length };
}

/** One round: both tools, same data, same order of operations. */
async function runRound(ds, round, sourceFacts) {
  const roundDir = join(BENCH_DIR, "run");
  await rm(roundDir, { recursive: true, force: true });
  await mkdir(join(roundDir, "cache"), { recursive: true });
  await resetDb(ds);
  const tools = [restorableTool(roundDir), resticTool(roundDir)];
  // Alternate who goes first, so neither always gets the other's page-cache leftovers.
  const order = round % 2 === 0 ? tools : [...tools].reverse();
  const r = Object.fromEntries(tools.map((t) => [t.name, {}]));
  const opts = (t) => ({ cwd: ds.dir, env: t.env });
  const step = async (t, key, [label, cmd, args], after) => {
    await cleanSiblings(ds.db);
    const m = await measure(`round ${round + 1} ${t.name} ${label}`, cmd, args, opts(t));
    r[t.name][key] = m;
    if (after) await after(m);
  };

  log(`round ${round + 1}: warming the page cache (reading ${ds.data})`);
  await warm(ds.data);
  for (const t of order) await step(t, "init", t.init, async () => (r[t.name].sizeInit = await duBytes(t.repo)));
  r.resticRepoVersion = JSON.parse(run("restic", ["cat", "config"], { capture: true, env: tools[1].env })).version;
  for (const t of order) {
    await step(t, "full", t.backup, async (m) => {
      r[t.name].sizeFull = await duBytes(t.repo);
      r[t.name].addedFullReported = t.added(m.stdout);
    });
  }
  await cleanSiblings(ds.db);
  log(`round ${round + 1}: applying C1`);
  applyC1(ds);
  await assertNoWal(ds.db);
  for (const t of order) {
    await step(t, "incr", t.backup, async (m) => {
      r[t.name].sizeIncr = await duBytes(t.repo);
      r[t.name].addedIncrReported = t.added(m.stdout);
    });
  }
  await cleanSiblings(ds.db);
  const expectedRows = countRows(ds.db);
  const expectedHash = sha256File(ds.db);
  for (const t of order) {
    const target = join(roundDir, `restore-${t.name}`);
    await step(t, "restore", t.restore(target), async () => {
      const found = await findRestoredData(target);
      const rows = countRows(found.db);
      if (found.files !== sourceFacts.files) throw new Error(`${t.name} restore: ${found.files} files restored, ${sourceFacts.files} expected`);
      if (rows !== expectedRows) throw new Error(`${t.name} restore: the database has ${rows} rows, ${expectedRows} expected`);
      r[t.name].restoredDbIdentical = sha256File(found.db) === expectedHash;
      r[t.name].restoredFiles = found.files;
      await rm(target, { recursive: true, force: true });
    });
  }
  for (const t of order) await step(t, "check", t.check);
  r.restorable.verifyJson = JSON.parse(r.restorable.check.stdout);
  if (!r.restorable.verifyJson.ok) throw new Error(`restorable verify --read-data reported damage: ${r.restorable.check.stdout.slice(0, 2000)}`);
  r.expectedRows = expectedRows;
  await rm(roundDir, { recursive: true, force: true });
  return r;
}

// ---------------------------------------------------------------- standalone measurements

function zstd(buf) {
  return zstdCompressSync(buf, { params: { [zc.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
}

function chunkHashes(buf, size) {
  const set = new Set();
  for (let o = 0; o < buf.length; o += size) set.add(createHash("sha256").update(buf.subarray(o, Math.min(o + size, buf.length))).digest("base64"));
  return set;
}

/** Bytes added by `after` over `before` with fixed chunks of `size`, new chunks compressed one by one. */
function chunkTable(before, after) {
  const rows = [];
  for (const size of CHUNK_SIZES) {
    const t0 = performance.now();
    const old = chunkHashes(before, size);
    const seen = new Set();
    let newChunks = 0;
    let newRaw = 0;
    let added = 0;
    for (let o = 0; o < after.length; o += size) {
      const c = after.subarray(o, Math.min(o + size, after.length));
      const h = createHash("sha256").update(c).digest("base64");
      if (old.has(h) || seen.has(h)) continue;
      seen.add(h);
      newChunks++;
      newRaw += c.length;
      added += zstd(c).length;
    }
    const chunksBefore = Math.ceil(before.length / size);
    const chunksAfter = Math.ceil(after.length / size);
    rows.push({ size, chunksBefore, chunksAfter, newChunks, newRaw, added, distinctBoth: old.size + newChunks });
    log(`chunk ${size / KiB} KiB: ${newChunks} of ${chunksAfter} chunks new, ${(added / 1e6).toFixed(1)} MB added (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return rows;
}

/** Fills a ChunkIndex the way Repository.loadIndex does (default constructor, then adds) with `n` random ids. */
function indexCost(ChunkIndex, n) {
  const index = new ChunkIndex();
  const ids = Buffer.allocUnsafe(32 * Math.min(n, 65536));
  const packId = new Uint8Array(32);
  let batch = 0;
  for (let i = 0; i < n; i++) {
    const j = i % 65536;
    if (j === 0) randomFillSync(ids);
    if (i % 4096 === 0) {
      randomFillSync(packId);
      batch++;
    }
    index.add(ids.subarray(j * 32, j * 32 + 32), packId.slice(), { kind: 0, frameOffset: (i % 4096) * 1000, frameLength: 30000, innerOffset: 0, length: 4096 });
  }
  if (index.size !== n) throw new Error(`ChunkIndex holds ${index.size} entries after ${n} random adds`);
  return { entries: n, bytes: index.bytesUsed, perEntry: index.bytesUsed / n, packs: batch };
}

/** zstd-3 of the DB's pages one by one vs grouped in frames: compressed size and throughput (best of `reps`). */
function frameTable(db, reps) {
  const rows = [];
  for (const size of FRAME_SIZES) {
    let bestC = Infinity;
    let bestD = Infinity;
    let compressed = 0;
    let frames = 0;
    for (let rep = 0; rep < reps; rep++) {
      const out = [];
      let t0 = performance.now();
      for (let o = 0; o < db.length; o += size) out.push(zstd(db.subarray(o, Math.min(o + size, db.length))));
      bestC = Math.min(bestC, performance.now() - t0);
      t0 = performance.now();
      for (const f of out) zstdDecompressSync(f);
      bestD = Math.min(bestD, performance.now() - t0);
      compressed = out.reduce((s, f) => s + f.length, 0);
      frames = out.length;
    }
    rows.push({ size, frames, compressed, compressMBs: db.length / 1e6 / (bestC / 1000), decompressMBs: db.length / 1e6 / (bestD / 1000) });
    log(`frames of ${size / KiB} KiB: ${(compressed / 1e6).toFixed(1)} MB, ${rows.at(-1).compressMBs.toFixed(0)} MB/s compress, ${rows.at(-1).decompressMBs.toFixed(0)} MB/s decompress`);
  }
  return rows;
}

/**
 * zstd levels 1-3 on 64 KiB frames (the format's frame size) of the first `bytes` of the DB and of the tree's files
 * laid end to end: compressed ratio and CPU throughput (best of `reps`, one thread, a zstdCompressSync per frame).
 */
async function levelTable(db, treeDir, reps, bytes) {
  const files = [];
  let total = 0;
  for (const f of await walkFiles(treeDir)) {
    if (total >= bytes) break;
    const b = await readFile(join(treeDir, f));
    files.push(b);
    total += b.length;
  }
  const inputs = [["database", db.subarray(0, bytes)], ["npm tree", Buffer.concat(files).subarray(0, bytes)]];
  const rows = [];
  for (const [name, data] of inputs) {
    for (const level of ZSTD_LEVELS) {
      let best = Infinity;
      let out = 0;
      for (let rep = 0; rep < reps; rep++) {
        out = 0;
        const c0 = process.cpuUsage();
        for (let o = 0; o < data.length; o += 64 * KiB) out += zstdCompressSync(data.subarray(o, o + 64 * KiB), { params: { [zc.ZSTD_c_compressionLevel]: level } }).length;
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / 1e6);
      }
      rows.push({ name, level, bytes: data.length, compressed: out, mbs: data.length / 1e6 / best });
      log(`zstd level ${level} on ${name}: ratio ${(data.length / out).toFixed(3)}, ${rows.at(-1).mbs.toFixed(0)} MB/s`);
    }
  }
  return rows;
}

// ---------------------------------------------------------------- report

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
export const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
export const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");
export const int = (n) => Math.round(n).toLocaleString("en-US");
export const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

export function spread(values, fmt) {
  return values.length > 1 ? ` (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : "";
}

export function machineFacts() {
  const cpuModel = (/^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8")) ?? [])[1] ?? cpus()[0]?.model ?? "unknown";
  const resticVersion = tryOutput("restic", ["version"]);
  const sqliteVersion = tryOutput("sqlite3", ["--version"]).split(" ")[0];
  const commit = tryOutput("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = tryOutput("git", ["status", "--porcelain"]).split("\n").filter(Boolean).length;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  return {
    uname: tryOutput("uname", ["-srm"]),
    cpuModel,
    cores: cpus().length,
    memory: totalmem(),
    node: process.version,
    restic: resticVersion,
    sqlite: sqliteVersion,
    restorable: `${pkg.version} (commit ${commit || "?"}${dirty ? `, plus ${dirty} uncommitted paths in the work tree` : ""})`,
  };
}

function report({ facts, ds, sourceFacts, rounds, chunks, index1m, frames, levels, loadStart, loadEnd, startedAt, durationS }) {
  const R = (tool, f) => rounds.map((r) => f(r[tool]));
  const med = (tool, f) => median(R(tool, f));
  const timeRow = (label, key, target) => {
    const a = med("restorable", (x) => x[key].wallMs);
    const b = med("restic", (x) => x[key].wallMs);
    const ca = med("restorable", (x) => x[key].cpuS);
    const cb = med("restic", (x) => x[key].cpuS);
    return [label, `${secs(a)}${spread(R("restorable", (x) => x[key].wallMs), secs)} · CPU ${ca.toFixed(1)} s`, `${secs(b)}${spread(R("restic", (x) => x[key].wallMs), secs)} · CPU ${cb.toFixed(1)} s`, ratio(a, b), target ? `${target} ${a <= b ? "✅" : "❌"}` : ""];
  };
  const rssRow = (label, key) => {
    const a = med("restorable", (x) => x[key].rssBytes);
    const b = med("restic", (x) => x[key].rssBytes);
    return [label, mb(a), mb(b), ratio(a, b), `< 300 MB ${a < TARGET_RSS ? "✅" : "❌"}`];
  };
  const incrA = med("restorable", (x) => x.sizeIncr - x.sizeFull);
  const incrB = med("restic", (x) => x.sizeIncr - x.sizeFull);
  const resticIncr = incrB;
  const dbSize = sourceFacts.dbBytes;
  const lines = [];
  lines.push(MARK_START);
  lines.push(`## Core: restorable vs restic on ${QUICK ? "the QUICK subset of D1 (not comparable with the published figures)" : "data set D1"}`);
  lines.push("");
  lines.push(`Written by \`npm run bench\` (scripts/bench.mjs) on ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC; the run took ${Math.round(durationS)} s.`);
  lines.push("");
  lines.push(`- Machine: ${facts.uname}, ${facts.cpuModel}, ${facts.cores} cores, ${(facts.memory / 2 ** 30).toFixed(1)} GiB RAM, local disk (one filesystem for data, repositories and restores).`);
  lines.push(`- Software: Node ${facts.node}; ${facts.restic} (repository format ${rounds[0].resticRepoVersion} as \`restic init\` chose it, default compression \`auto\`); sqlite3 ${facts.sqlite}; restorable ${facts.restorable}, driven through its CLI (\`bin/restorable.js\` run as an executable, as an installed CLI runs; built at the start of the run and copied aside so a rebuild by someone else cannot change it mid-run).`);
  lines.push(`- Load: the machine may be shared with other work (load average ${loadStart.map((x) => x.toFixed(2)).join(" ")} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(" ")} at the end, on ${facts.cores} cores, this run included), so wall times are noisy; the CPU time (user + system, from GNU time) beside each is less sensitive to that.`);
  lines.push(`- Data set: ${QUICK ? `quick subset: the same SQL with 200,000 rows and C1 scaled by 1/10 (2,000 rows appended, 2,000 updated), and ${ds.meta.treeFrom}` : "D1 from `../shared/bench/make-dataset.sh`: a WAL-mode SQLite DB (2,000,000 rows, index on a random-looking key) and a real npm package tree"} — ${int(sourceFacts.files)} files, ${mb(sourceFacts.bytes)} (du -sb), of which the DB is ${mb(dbSize)} (page size ${sourceFacts.pageSize}). Change C1 (\`make-dataset.sh DIR mutate\`${QUICK ? ", scaled" : ""}): rows appended and a range of rows updated; ${int(sourceFacts.pagesChanged)} of ${int(sourceFacts.pages)} pages differ afterwards (${mb(sourceFacts.pagesChanged * sourceFacts.pageSize)}). The DB is restored from a pristine copy before each round, so C1 always starts from the same bytes.`);
  lines.push(`- Method: ${rounds.length} round(s) on fresh repositories${rounds.length > 1 ? " (medians, with the range in brackets; the tool that goes first alternates)" : ""}. Each round: \`init\`, full snapshot of \`data/\`, C1, incremental snapshot, restore of the latest snapshot into an empty folder, read-data check. Page cache: no root tricks (no drop_caches); the data set is read once before the first command, so **every command of both tools runs on a warm page cache**, and restores and checks read repositories that were just written (also cached). Times are wall clock from process start to exit; peak RSS is GNU time's \`%M\` of the process (restorable's worker threads are in the same process). Both restores were checked: ${int(sourceFacts.files)} files and ${int(rounds[0].expectedRows)} rows; restored DB byte-identical to the source: restorable ${rounds[0].restorable.restoredDbIdentical ? "yes" : "no (a consistent copy made by SQLite's backup API; same rows)"}, restic ${rounds[0].restic.restoredDbIdentical ? "yes" : "no"}.`);
  lines.push("");
  lines.push("### Time");
  lines.push("");
  lines.push(table(["step", "restorable", "restic", "restorable/restic", "target"], [
    timeRow("init", "init"),
    timeRow("full snapshot", "full", "no slower than restic"),
    timeRow("incremental snapshot after C1", "incr"),
    timeRow("restore latest", "restore", "no slower than restic"),
    timeRow("`verify --read-data` / `check --read-data`", "check"),
  ]));
  lines.push("");
  lines.push("### Repository size and bytes added");
  lines.push("");
  lines.push(table(["", "restorable", "restic", "restorable/restic", "target"], [
    ["repository after init (du -sb)", mb(med("restorable", (x) => x.sizeInit)), mb(med("restic", (x) => x.sizeInit)), "", ""],
    ["repository after the full snapshot", mb(med("restorable", (x) => x.sizeFull)), mb(med("restic", (x) => x.sizeFull)), ratio(med("restorable", (x) => x.sizeFull), med("restic", (x) => x.sizeFull)), ""],
    ["repository after the incremental", mb(med("restorable", (x) => x.sizeIncr)), mb(med("restic", (x) => x.sizeIncr)), ratio(med("restorable", (x) => x.sizeIncr), med("restic", (x) => x.sizeIncr)), ""],
    ["**bytes added by the incremental** (du -sb difference)", `**${mb(incrA)}**`, `**${mb(incrB)}**`, `**${ratio(incrA, incrB)}**`, `≤ 0.5× restic ${incrA <= 0.5 * incrB ? "✅" : "❌"}`],
    ["added by the incremental, as the tool reports it (`bytesAdded` / `data_added`)", mb(med("restorable", (x) => x.addedIncrReported)), mb(med("restic", (x) => x.addedIncrReported)), ratio(med("restorable", (x) => x.addedIncrReported), med("restic", (x) => x.addedIncrReported)), ""],
  ]));
  lines.push("");
  lines.push("### Peak RSS");
  lines.push("");
  lines.push(table(["step", "restorable", "restic", "restorable/restic", "target"], [
    rssRow("init", "init"),
    rssRow("full snapshot", "full"),
    rssRow("incremental snapshot", "incr"),
    rssRow("restore latest", "restore"),
    rssRow("verify / check --read-data", "check"),
  ]));
  lines.push("");
  lines.push(`### Chunk size for SQLite databases (standalone, the DB before and after C1)`);
  lines.push("");
  lines.push(`The DB (${mb(dbSize)}) cut into page-aligned fixed chunks; a chunk of the second version is new when its SHA-256 is not among the first version's chunks; each new chunk compressed alone with zstd-3 (\`node:zlib\`). The index cost is a \`ChunkIndex\` (build/core/chunk-index.js) filled as \`Repository.loadIndex\` fills it, with as many random ids as the two versions have distinct chunks, read through \`bytesUsed\` (typed arrays at their grown capacity plus the hash table). restic's incremental in the same run: ${mb(resticIncr)}.`);
  lines.push("");
  lines.push(table(["chunk", "chunks per version (before → after)", "new chunks after C1", "raw bytes of new chunks", "**bytes added (zstd-3)**", "vs restic's incremental", "index entries (both versions)", "index memory", "bytes/entry"], chunks.map((c) => [
    `${c.size / KiB} KiB`, `${int(c.chunksBefore)} → ${int(c.chunksAfter)}`, `${int(c.newChunks)} (${((100 * c.newChunks) / c.chunksAfter).toFixed(1)} %)`, mb(c.newRaw), `**${mb(c.added)}**`, ratio(c.added, resticIncr), int(c.distinctBoth), `${(c.index.bytes / 2 ** 20).toFixed(1)} MiB`, c.index.perEntry.toFixed(1),
  ])));
  lines.push("");
  lines.push(`For scale: a ChunkIndex of 1,000,000 entries holds ${(index1m.bytes / 2 ** 20).toFixed(1)} MiB (${index1m.perEntry.toFixed(1)} bytes/entry; 53 bytes of fields, the rest is the open-addressing table at load ≤ 0.7 and the spare capacity of the doubled arrays).`);
  lines.push("");
  lines.push(`### zstd frame grouping (standalone, the DB's ${sourceFacts.pageSize / KiB} KiB pages)`);
  lines.push("");
  lines.push(`The first version of the DB compressed with zstd-3 in pieces of the given size (one \`zstdCompressSync\` call per piece, one thread, best of ${frames.reps} passes); decompression of the same pieces.`);
  lines.push("");
  const base = frames.rows[0];
  lines.push(table(["pieces", "count", "compressed", "ratio", "compress", "vs 4 KiB one by one", "decompress"], frames.rows.map((f) => [
    f.size === sourceFacts.pageSize ? `${f.size / KiB} KiB (pages one by one)` : `${f.size / KiB} KiB frames`, int(f.frames), mb(f.compressed), `${(dbSize / f.compressed).toFixed(2)}`, `${f.compressMBs.toFixed(0)} MB/s`, f === base ? "baseline" : `${(f.compressMBs / base.compressMBs).toFixed(2)}× the speed, ${((100 * f.compressed) / base.compressed).toFixed(0)} % of the size`, `${f.decompressMBs.toFixed(0)} MB/s`,
  ])));
  lines.push("");
  lines.push("### zstd level (standalone, 64 KiB frames)");
  lines.push("");
  lines.push(`The first ${mb(levels.rows[0].bytes)} of the DB, and the tree's files end to end (first ${mb(levels.rows.at(-1).bytes)}), compressed in 64 KiB frames (one \`zstdCompressSync\` per frame, one thread, CPU time, best of ${levels.reps} passes). restorable compresses frames at level ${levels.format} (src/core/compress.ts).`);
  lines.push("");
  lines.push(table(["data", "level", "ratio", "compress (CPU)"], levels.rows.map((r) => [r.name, String(r.level), (r.bytes / r.compressed).toFixed(3), `${r.mbs.toFixed(0)} MB/s`])));
  lines.push("");
  lines.push("### How to read this");
  lines.push("");
  lines.push("Ratios are restorable divided by restic: below 1× restorable is faster, smaller or leaner. \"Bytes added\" is what the incremental snapshot after C1 made the repository grow on disk (du -sb), which is what an object store would bill; the tools' own counters are shown beside it (restic 0.14's `data_added` counts bytes before compression). The chunk-size table is a standalone model of the SQLite part only (no file tree, no metadata, chunks compressed one by one, where restorable compresses 64 KiB frames): it explains why the format cuts databases into 4 KiB chunks and what that costs in index memory. The frame table shows why chunks are compressed in groups. The machine is shared and has two cores, so treat differences under about 10 % as noise; CPU time is the steadier figure. The whole sequence can be repeated on fresh repositories with `BENCH_ROUNDS=3`.");
  lines.push("");
  lines.push("### Reproduce");
  lines.push("");
  lines.push("```sh");
  lines.push("npm run bench                  # builds, builds D1 once into ~/.cache/restorable-bench (BENCH_DIR), runs everything, rewrites this section");
  lines.push("BENCH_ROUNDS=3 npm run bench   # medians over 3 rounds");
  lines.push("BENCH_QUICK=1 npm run bench    # a small subset in about a minute, written to $BENCH_DIR/quick/benchmarks.md");
  lines.push("```");
  lines.push("");
  lines.push("Commands timed, per tool (cwd: the data set folder, repository in a fresh folder, password from the environment):");
  lines.push("");
  const cmds = [restorableTool("R"), resticTool("R")];
  lines.push(table(["step", "restorable (`RESTORABLE_REPOSITORY`, `RESTORABLE_PASSWORD`)", "restic (`RESTIC_REPOSITORY`, `RESTIC_PASSWORD`)"], ["init", "backup", "restore", "check"].map((k) => [k === "backup" ? "full and incremental" : k, `\`${cmds[0].command[k]}\``, `\`${cmds[1].command[k]}\``])));
  lines.push(MARK_END);
  return lines.join("\n");
}

/** Replaces the text between `start` and `end` (markers included) in DOC, or appends `section` when they are missing. */
export async function writeDoc(section, start = MARK_START, end = MARK_END) {
  await mkdir(dirname(DOC), { recursive: true });
  let text = existsSync(DOC) ? await readFile(DOC, "utf8") : "# Benchmarks\n\n";
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + end.length);
  else text = `${text.replace(/\s*$/, "")}\n\n${section}\n`;
  await writeFile(DOC, text);
}

// ---------------------------------------------------------------- main

/** Copies bin/, build/ and package.json to `app` (default APP; node_modules linked), so the whole run uses one build. */
export async function freezeApp(app = APP) {
  await rm(app, { recursive: true, force: true });
  await mkdir(app, { recursive: true });
  await cp(join(ROOT, "build"), join(app, "build"), { recursive: true });
  await cp(join(ROOT, "bin"), join(app, "bin"), { recursive: true });
  await copyFile(join(ROOT, "package.json"), join(app, "package.json"));
  await symlink(join(ROOT, "node_modules"), join(app, "node_modules"));
}

async function main() {
  const startedAt = new Date();
  const loadStart = loadavg();
  for (const [bin, why] of [[TIME_BIN, "GNU time (Debian package time) for peak RSS"], ["restic", "restic (Debian package restic)"], ["sqlite3", "sqlite3 (Debian package sqlite3)"]]) {
    if (spawnSync(bin, ["--version"], { stdio: "ignore" }).error) throw new Error(`missing ${bin}: install ${why}`);
  }
  if (!zstdCompressSync) throw new Error("node:zlib has no zstd: run with Node 24");
  await mkdir(BENCH_DIR, { recursive: true });
  if (process.env.BENCH_NO_BUILD !== "1") {
    log("npm run build");
    run("npm", ["run", "--silent", "build"]);
  }
  for (const f of ["bin/restorable.js", "build/cli/main.js", "build/core/chunk-index.js"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  await freezeApp();
  const { ChunkIndex } = await import(pathToFileURL(join(APP, "build", "core", "chunk-index.js")).href);

  const ds = await ensureDataset();
  await resetDb(ds);
  const files = await walkFiles(ds.data);
  const sourceFacts = { files: files.length, bytes: await duBytes(ds.data), dbBytes: (await stat(ds.db)).size };
  log(`data set ${ds.data}: ${files.length} files, ${mb(sourceFacts.bytes)}`);

  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await runRound(ds, i, sourceFacts));

  // After the last round data/app.sqlite is the DB after C1.
  await cleanSiblings(ds.db);
  log("standalone: chunk sizes and frame grouping");
  const before = await readFile(ds.pristine);
  const after = await readFile(ds.db);
  sourceFacts.pageSize = before.readUInt16BE(16) === 1 ? 65536 : before.readUInt16BE(16);
  sourceFacts.pages = Math.ceil(after.length / sourceFacts.pageSize);
  let changed = 0;
  for (let o = 0; o < after.length; o += sourceFacts.pageSize) {
    if (o + sourceFacts.pageSize > before.length || Buffer.compare(before.subarray(o, o + sourceFacts.pageSize), after.subarray(o, o + sourceFacts.pageSize)) !== 0) changed++;
  }
  sourceFacts.pagesChanged = changed;
  const chunks = chunkTable(before, after);
  for (const c of chunks) c.index = indexCost(ChunkIndex, c.distinctBoth);
  const index1m = indexCost(ChunkIndex, 1_000_000);
  const reps = QUICK ? 1 : 2;
  const frames = { reps, rows: frameTable(before, reps) };
  const { ZSTD_LEVEL: formatLevel } = await import(pathToFileURL(join(APP, "build", "core", "compress.js")).href);
  const levels = { reps, format: formatLevel, rows: await levelTable(before, join(ds.data, "tree"), reps, QUICK ? 16e6 : 64e6) };

  const facts = machineFacts();
  const section = report({ facts, ds, sourceFacts, rounds, chunks, index1m, frames, levels, loadStart, loadEnd: loadavg(), startedAt, durationS: (Date.now() - startedAt.getTime()) / 1000 });
  await writeDoc(section);
  console.log(section);
  log(`written to ${DOC}`);
}

// Run only as a script: scripts/bench-prune-drill.mjs imports the helpers above.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
