#!/usr/bin/env node
/**
 * `npm run bench`, second part (after scripts/bench.mjs): prune (issue 5) and restore drill RTO (issue 3), each
 * against restic 0.14 in the same run. Reuses bench.mjs's helpers (timing under GNU time, data set D1, doc writer).
 *
 * Prune:
 *  1. Generates a repository history: a tree of 300 small files (1-8 KiB, half text, half random bytes), 3 of them
 *     rewritten before each snapshot, 1,000 snapshots (BENCH_PRUNE_SNAPSHOTS; quick: 100) whose times are spread
 *     evenly over 3 years (about one a day, ±3 h of seeded jitter), host `h`. restorable's snapshots are taken
 *     in-process through the library (Repository.init on a LocalStore with scrypt N=1024, then `snapshot({time})`);
 *     restic's with `restic backup --time ... --host h tree` on the same tree state while restorable's snapshot of it
 *     runs (two cores, two tools, one tree), in a repository whose key file is re-wrapped with tiny scrypt
 *     parameters (test/helpers/restic.ts, cheapenResticKeys). Both tools therefore open their repository without
 *     the usual ~0.5 s key derivation, in the timed commands too.
 *  2. Times, tool by tool, the plan alone and then the real thing:
 *     `restorable prune --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --grace 0 [--dry-run] --json` (CLI) and
 *     `restic forget --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --prune [--dry-run]`; peak RSS from GNU time.
 *     Each tool's cache folder is empty before its dry run (the dry run fills it, the real prune uses it).
 *  3. Asserts that both kept the same snapshots (same count and the same snapshot times), and that restorable's
 *     dry-run plan kept what the real prune kept. Repository sizes before and after (du -sb).
 *
 * Drill:
 *  1. D1 (built by bench.mjs in BENCH_DIR/d1; quick: BENCH_DIR/quick) with its DB reset to the pristine copy,
 *     snapshotted into fresh repositories exactly as bench.mjs does (`restorable init` + `restorable snapshot data`;
 *     `restic init` + `restic backup data`).
 *  2. Times `restorable drill --config restorable.yml --json` with a database-only drill: a `sql` check counting the
 *     rows of `post` in the restored app.sqlite (expecting the source's count) and a `sqlite-integrity` check; the
 *     phases and RTO come from its JSON report. Against it, in the same run: `restic restore latest --target DIR`,
 *     the same two checks on restic's copy with the sqlite3 CLI, and `restorable restore latest --target DIR`.
 *     The drill's sandbox is placed under the run folder (TMPDIR), on the same disk as the restore targets.
 *
 * Writes `<!-- bench:prune:* -->` and `<!-- bench:drill:* -->` sections of docs/benchmarks.md (quick mode:
 * BENCH_DIR/quick/benchmarks.md). Same environment variables as bench.mjs (BENCH_QUICK, BENCH_DIR, BENCH_DOC,
 * BENCH_NO_BUILD) plus BENCH_PRUNE_SNAPSHOTS, BENCH_ONLY=prune|drill, BENCH_KEEP=1 (leave the run folders) and
 * BENCH_PRUNE_REUSE=1 (build the prune history once, keep it pristine, copy it for each run).
 *
 * Units: MB = 10^6 bytes; times in seconds of wall clock.
 * Needs: /usr/bin/time (GNU time), restic, sqlite3, Node 24 (imports the TypeScript test helper directly).
 */
import { Buffer } from "node:buffer";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import {
  BENCH_DIR, DOC, QUICK, ROOT, TIME_BIN,
  childEnv, cleanSiblings, countRows, duBytes, ensureDataset, findRestoredData, freezeApp, int, log, machineFacts, mb,
  measure, positiveInt, ratio, resetDb, resticTool, restorableTool, run, secs, table, walkFiles, warm, writeDoc,
} from "./bench.mjs";

const APP = join(BENCH_DIR, "app-prune-drill");
const SNAPSHOTS = positiveInt("BENCH_PRUNE_SNAPSHOTS", QUICK ? 100 : 1000);
const ONLY = process.env.BENCH_ONLY ?? "";
/** BENCH_KEEP=1 leaves the run folders (repositories, tree) for inspection. */
const KEEP = process.env.BENCH_KEEP === "1";
/**
 * BENCH_PRUNE_REUSE=1 builds the prune history once into `<run folder>-history` (kept, never pruned) and copies it
 * (`cp -a`) into the run folder before the timed commands; later runs with the same snapshot count reuse it, which
 * skips the ~10 minute build. Delete the folder to rebuild it (e.g. after a repository format change).
 */
const REUSE = process.env.BENCH_PRUNE_REUSE === "1";
const TREE_FILES = 300;
const CHANGED_PER_SNAPSHOT = 3;
const SPAN_DAYS = 3 * 365;
const HISTORY_START = Date.UTC(2023, 10, 1, 12, 0, 0);
const POLICY = ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6"];
const TARGET_PRUNE_RSS = 500e6;
const PRUNE_MARKS = ["<!-- bench:prune:start -->", "<!-- bench:prune:end -->"];
const DRILL_MARKS = ["<!-- bench:drill:start -->", "<!-- bench:drill:end -->"];

/** The tests' seeded PRNG (mulberry32), so histories are the same every run. */
const { rng: prng } = await import(pathToFileURL(join(ROOT, "test", "helpers", "random.ts")).href);

// ---------------------------------------------------------------- prune: the generated history

/** Content of file `i` at version `v`: 1-8 KiB, even files text (compressible), odd files random bytes. */
function fileContent(i, v) {
  const rnd = prng(i * 100003 + v * 7919 + 1);
  const size = 1024 + Math.floor(rnd() * 7 * 1024);
  const buf = Buffer.allocUnsafe(size);
  if (i % 2 === 0) {
    const words = ["alpha", "beta", "gamma", "delta", "backup", "restore", "prune", "snapshot", "chunk", "pack"];
    let o = 0;
    let line = `file ${i} version ${v}\n`;
    while (o < size) {
      o += buf.write(line, o);
      line = `${words[Math.floor(rnd() * words.length)]} ${Math.floor(rnd() * 1e6)}\n`;
    }
  } else {
    for (let o = 0; o < size; o++) buf[o] = Math.floor(rnd() * 256);
  }
  return buf;
}

const filePath = (tree, i) => join(tree, `d${String(i % 12).padStart(2, "0")}`, `f${String(i).padStart(3, "0")}.dat`);

/** Snapshot times: evenly over SPAN_DAYS with ±3 h of jitter, whole seconds, strictly increasing. */
function snapshotTimes(n) {
  const rnd = prng(42);
  const step = (SPAN_DAYS * 86400e3) / n;
  const out = [];
  for (let k = 0; k < n; k++) {
    const t = Math.floor((HISTORY_START + k * step + (rnd() - 0.5) * 6 * 3600e3) / 1000) * 1000;
    out.push(new Date(Math.max(t, (out.at(-1)?.getTime() ?? 0) + 1000)));
  }
  return out;
}

/** restic 0.14's `--time` format ("2006-01-02 15:04:05", read in TZ, which we set to UTC). */
const resticTime = (d) => d.toISOString().slice(0, 19).replace("T", " ");

/** Runs a command asynchronously; resolves with stdout. @throws Error with its stderr on failure. */
function runAsync(cmd, args, { cwd, env }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    const err = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}\n${Buffer.concat(err).toString("utf8").slice(-4000)}`));
    });
  });
}

/**
 * Builds both repositories with the same history in `dir`: restorable in-process, restic as child processes.
 * @returns facts about the history (counts, bytes, build times).
 */
/** The paths and child environments of a run folder `dir` (tree, both repositories, both caches). */
async function historyPaths(dir) {
  const helper = await import(pathToFileURL(join(ROOT, "test", "helpers", "restic.ts")).href);
  const password = helper.RESTIC_PASSWORD;
  const tree = join(dir, "tree");
  const rRepo = join(dir, "restorable-repo");
  const sRepo = join(dir, "restic-repo");
  const rEnv = childEnv({ RESTORABLE_REPOSITORY: rRepo, RESTORABLE_PASSWORD: password, XDG_CACHE_HOME: join(dir, "cache-restorable"), TZ: "UTC" });
  const sEnv = childEnv({ RESTIC_REPOSITORY: sRepo, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: join(dir, "cache-restic"), XDG_CACHE_HOME: join(dir, "cache-restic"), TZ: "UTC" });
  return { helper, password, tree, rRepo, sRepo, rEnv, sEnv };
}

async function buildHistory(dir) {
  const lib = (p) => import(pathToFileURL(join(APP, "build", ...p.split("/"))).href);
  const { Repository } = await lib("repo/repository.js");
  const { LocalStore } = await lib("store/local.js");
  const { snapshot } = await lib("ops/snapshot/snapshot.js");
  const { helper, password, tree, rRepo, sRepo, rEnv, sEnv } = await historyPaths(dir);
  helper.requireRestic();

  const versions = new Array(TREE_FILES).fill(0);
  for (let i = 0; i < TREE_FILES; i++) {
    await mkdir(join(filePath(tree, i), ".."), { recursive: true });
    await writeFile(filePath(tree, i), fileContent(i, 0));
  }
  const repo = await Repository.init(new LocalStore(rRepo), { kind: "password", password }, { scryptN: 1024 });
  await helper.initResticRepo(sRepo);
  const times = snapshotTimes(SNAPSHOTS);
  const rnd = prng(7);
  let rMs = 0;
  let sMs = 0;
  const t0 = performance.now();
  for (let k = 0; k < SNAPSHOTS; k++) {
    if (k > 0) {
      for (let c = 0; c < CHANGED_PER_SNAPSHOT; c++) {
        const i = Math.floor(rnd() * TREE_FILES);
        versions[i]++;
        await writeFile(filePath(tree, i), fileContent(i, versions[i]));
      }
    }
    const ts = performance.now();
    const resticDone = runAsync("restic", ["backup", "--quiet", "--time", resticTime(times[k]), "--host", "h", "tree"], { cwd: dir, env: sEnv }).then(() => (sMs += performance.now() - ts));
    const tr = performance.now();
    await snapshot(repo, { sources: [{ kind: "directory", name: "tree", path: tree }], time: times[k], host: "h" });
    rMs += performance.now() - tr;
    await resticDone;
    if ((k + 1) % 100 === 0 || k + 1 === SNAPSHOTS) {
      const el = (performance.now() - t0) / 1000;
      log(`prune history: ${k + 1}/${SNAPSHOTS} snapshots (${el.toFixed(0)} s; restorable ${(rMs / (k + 1)).toFixed(0)} ms/snapshot, restic ${(sMs / (k + 1)).toFixed(0)} ms/snapshot)`);
    }
  }
  const treeFiles = (await walkFiles(tree)).length;
  return {
    tree, rRepo, sRepo, rEnv, sEnv, times,
    treeFiles, treeBytes: await duBytes(tree), changed: versions.reduce((s, v) => s + v, 0),
    buildS: (performance.now() - t0) / 1000, rMsPer: rMs / SNAPSHOTS, sMsPer: sMs / SNAPSHOTS,
  };
}

/** The snapshot times (whole seconds, ISO) each tool still lists. */
function keptTimes(h) {
  const node = process.execPath;
  const bin = join(APP, "bin", "restorable.js");
  const r = JSON.parse(run(node, [bin, "snapshots", "--json"], { env: h.rEnv, capture: true }));
  const rList = Array.isArray(r) ? r : r.snapshots;
  if (!Array.isArray(rList)) throw new Error(`restorable snapshots --json: expected a list, got ${JSON.stringify(r).slice(0, 300)}`);
  const s = JSON.parse(run("restic", ["snapshots", "--json"], { env: h.sEnv, capture: true }));
  const norm = (t) => new Date(t).toISOString().slice(0, 19);
  return { restorable: rList.map((x) => norm(x.time)).sort(), restic: s.map((x) => norm(x.time)).sort() };
}

async function pruneBench() {
  const dir = join(BENCH_DIR, QUICK ? "quick-prune" : "prune");
  await rm(dir, { recursive: true, force: true });
  let h;
  if (REUSE) {
    const hist = `${dir}-history`;
    const factsFile = join(hist, "history.json");
    let facts = existsSync(factsFile) ? JSON.parse(await readFile(factsFile, "utf8")) : undefined;
    if (facts?.snapshots !== SNAPSHOTS) {
      await rm(hist, { recursive: true, force: true });
      await mkdir(hist, { recursive: true });
      log(`prune: building ${SNAPSHOTS} snapshots of a ${TREE_FILES}-file tree for both tools in ${hist} (kept for reuse)`);
      const built = await buildHistory(hist);
      facts = { snapshots: SNAPSHOTS, ...built, times: built.times.map((t) => t.toISOString()) };
      for (const k of ["tree", "rRepo", "sRepo", "rEnv", "sEnv"]) delete facts[k];
      await writeFile(factsFile, JSON.stringify(facts));
    } else {
      log(`prune: reusing the history in ${hist}`);
    }
    run("cp", ["-a", hist, dir], { capture: true });
    const { tree, rRepo, sRepo, rEnv, sEnv } = await historyPaths(dir);
    h = { ...facts, times: facts.times.map((t) => new Date(t)), tree, rRepo, sRepo, rEnv, sEnv };
  } else {
    await mkdir(dir, { recursive: true });
    log(`prune: building ${SNAPSHOTS} snapshots of a ${TREE_FILES}-file tree for both tools in ${dir}`);
    h = await buildHistory(dir);
  }
  const node = process.execPath;
  const bin = join(APP, "bin", "restorable.js");
  const res = { h, sizeBefore: { restorable: await duBytes(h.rRepo), restic: await duBytes(h.sRepo) } };
  const rPrune = (dry) => [node, [bin, "prune", ...POLICY, "--grace", "0", ...(dry ? ["--dry-run"] : []), "--json"]];
  const sPrune = (dry) => ["restic", ["forget", ...POLICY, "--prune", ...(dry ? ["--dry-run"] : [])]];
  for (const c of ["cache-restorable", "cache-restic"]) await rm(join(dir, c), { recursive: true, force: true });
  // The plan alone, then the real prune; restorable first (each tool alone on the machine while it is timed).
  res.rDry = await measure("prune restorable --dry-run", ...rPrune(true), { cwd: dir, env: h.rEnv });
  res.sDry = await measure("prune restic forget --prune --dry-run", ...sPrune(true), { cwd: dir, env: h.sEnv });
  res.rReal = await measure("prune restorable", ...rPrune(false), { cwd: dir, env: h.rEnv });
  res.sReal = await measure("prune restic forget --prune", ...sPrune(false), { cwd: dir, env: h.sEnv });
  res.sizeAfter = { restorable: await duBytes(h.rRepo), restic: await duBytes(h.sRepo) };
  const dryPlan = JSON.parse(res.rDry.stdout);
  const realPlan = JSON.parse(res.rReal.stdout);
  res.rPlan = realPlan;
  if (dryPlan.executed || !realPlan.executed) throw new Error(`restorable prune: dry run executed=${dryPlan.executed}, real run executed=${realPlan.executed}`);
  if (dryPlan.keep.length !== realPlan.keep.length) throw new Error(`restorable prune: the dry run kept ${dryPlan.keep.length}, the real run ${realPlan.keep.length}`);
  const kept = keptTimes(h);
  if (kept.restorable.length !== kept.restic.length || kept.restorable.some((t, i) => t !== kept.restic[i])) {
    throw new Error(`prune kept different snapshots: restorable ${kept.restorable.length} [${kept.restorable.join(", ")}], restic ${kept.restic.length} [${kept.restic.join(", ")}]`);
  }
  if (kept.restorable.length !== realPlan.keep.length) throw new Error(`restorable prune said it keeps ${realPlan.keep.length}, snapshots lists ${kept.restorable.length}`);
  res.kept = kept.restorable.length;
  log(`prune: both kept the same ${res.kept} of ${SNAPSHOTS} snapshots`);
  // The repository must still restore after prune: verify the restorable one (structure; not timed).
  const v = JSON.parse(run(node, [bin, "verify", "--read-data", "--json"], { env: h.rEnv, capture: true }));
  if (!v.ok) throw new Error(`restorable verify --read-data after prune reported damage: ${JSON.stringify(v).slice(0, 2000)}`);
  run("restic", ["check", "--read-data"], { env: h.sEnv, capture: true });
  if (!KEEP) await rm(dir, { recursive: true, force: true });
  return res;
}

// ---------------------------------------------------------------- drill

/** The restorable.yml of the drill: database-only, a row count and an integrity check. */
function drillYaml(expectedRows) {
  return [
    "# Written by scripts/bench-prune-drill.mjs: a database-only drill of data set D1.",
    "drill:",
    "  snapshot: latest",
    "  checks:",
    "    - name: post-rows",
    "      type: sql",
    '      db: "${sources.data}/app.sqlite"',
    '      query: "SELECT count(*) FROM post"',
    `      expect: ${expectedRows}`,
    "    - name: app-db",
    "      type: sqlite-integrity",
    '      db: "${sources.data}/app.sqlite"',
    "",
  ].join("\n");
}

async function drillBench() {
  const ds = await ensureDataset();
  const dir = join(BENCH_DIR, QUICK ? "quick-drill" : "drill");
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "cache"), { recursive: true });
  await mkdir(join(dir, "tmp"), { recursive: true });
  await resetDb(ds);
  await cleanSiblings(ds.db);
  const files = await walkFiles(ds.data);
  const expectedRows = countRows(ds.db);
  const source = { files: files.length, bytes: await duBytes(ds.data), rows: expectedRows };
  const rt = restorableTool(dir, APP);
  const st = resticTool(dir);
  rt.env.TMPDIR = join(dir, "tmp");
  const opts = (t) => ({ cwd: ds.dir, env: t.env });
  log(`drill: warming the page cache (reading ${ds.data})`);
  await warm(ds.data);
  const res = { source };
  for (const t of [rt, st]) {
    await measure(`drill ${t.name} ${t.init[0]}`, t.init[1], t.init[2], opts(t));
    await cleanSiblings(ds.db);
    res[`${t.name}Snapshot`] = await measure(`drill ${t.name} ${t.backup[0]}`, t.backup[1], t.backup[2], opts(t));
  }
  const yml = join(dir, "restorable.yml");
  await writeFile(yml, drillYaml(expectedRows));
  const node = process.execPath;
  const bin = join(APP, "bin", "restorable.js");

  // restic first: restore, then the same two checks by hand with the sqlite3 CLI.
  const sTarget = join(dir, "restore-restic");
  res.resticRestore = await measure("drill restic restore latest", ...st.restore(sTarget).slice(1), opts(st));
  const found = await findRestoredData(sTarget);
  const t0 = performance.now();
  const rows = countRows(found.db);
  const integrity = run("sqlite3", [`file:${found.db}?immutable=1`, "PRAGMA integrity_check"], { capture: true }).trim();
  res.resticChecksMs = performance.now() - t0;
  if (found.files !== source.files || rows !== expectedRows || integrity !== "ok") throw new Error(`restic restore: ${found.files} files (${source.files} expected), ${rows} rows (${expectedRows}), integrity "${integrity.slice(0, 200)}"`);
  await rm(sTarget, { recursive: true, force: true });

  res.drill = await measure("drill restorable drill", node, [bin, "drill", "--config", yml, "--json"], opts(rt));
  const report = JSON.parse(res.drill.stdout);
  if (!report.ok || report.rtoMs === null) throw new Error(`restorable drill failed: ${report.failures?.join("; ")}\n${res.drill.stdout.slice(0, 3000)}`);
  if (report.restore?.files !== undefined && report.restore.files < source.files) throw new Error(`restorable drill restored ${report.restore.files} files, ${source.files} expected`);
  res.report = report;

  const rTarget = join(dir, "restore-restorable");
  res.restorableRestore = await measure("drill restorable restore latest", ...rt.restore(rTarget).slice(1), opts(rt));
  const rFound = await findRestoredData(rTarget);
  if (rFound.files !== source.files || countRows(rFound.db) !== expectedRows) throw new Error(`restorable restore: ${rFound.files} files, ${source.files} expected`);
  if (!KEEP) await rm(dir, { recursive: true, force: true });
  return { ...res, ds };
}

// ---------------------------------------------------------------- report

const when = (d) => d.toISOString().slice(0, 16).replace("T", " ");
const machineLine = (f) => `- Machine: ${f.uname}, ${f.cpuModel}, ${f.cores} cores, ${(f.memory / 2 ** 30).toFixed(1)} GiB RAM, local disk. Software: Node ${f.node}; ${f.restic}; sqlite3 ${f.sqlite}; restorable ${f.restorable}, through its CLI (\`bin/restorable.js\` run as an executable, a copy of build/ frozen at the start of the run).`;
const loadLine = (a, b, cores) => `- Load: load average ${a.map((x) => x.toFixed(2)).join(" ")} at the start, ${b.map((x) => x.toFixed(2)).join(" ")} at the end, on ${cores} cores (other sessions share this machine; the CPU time beside each wall time is steadier).`;
const cell = (m) => `${secs(m.wallMs)} · CPU ${m.cpuS.toFixed(1)} s`;
const ok = (cond) => (cond ? "✅" : "❌");

function pruneSection(p, facts, meta) {
  const { h } = p;
  const L = [PRUNE_MARKS[0]];
  L.push(`## Prune: ${int(SNAPSHOTS)} snapshots, keep 7 daily / 4 weekly / 6 monthly${QUICK ? " (QUICK run: not comparable with the published figures)" : ""}`);
  L.push("");
  L.push(`Written by \`npm run bench\` (scripts/bench-prune-drill.mjs) on ${when(meta.startedAt)} UTC.`);
  L.push("");
  L.push(machineLine(facts));
  L.push(loadLine(meta.loadStart, meta.loadEnd, facts.cores));
  L.push(`- History: a tree of ${TREE_FILES} files (1-8 KiB each, half text, half random bytes; ${mb(h.treeBytes)} on disk at the end), ${CHANGED_PER_SNAPSHOT} files rewritten before each snapshot (${int(h.changed)} rewrites in all), ${int(SNAPSHOTS)} snapshots with times spread evenly over ${SPAN_DAYS / 365} years (${h.times[0].toISOString().slice(0, 10)} to ${h.times.at(-1).toISOString().slice(0, 10)}, ±3 h jitter), host \`h\`, one group for both tools. Built in ${Math.round(h.buildS)} s: restorable in-process through the library (${h.rMsPer.toFixed(0)} ms a snapshot), restic with \`restic backup --time T --host h tree\` on the same tree state at the same time (${h.sMsPer.toFixed(0)} ms a snapshot).`);
  L.push(`- Keys: both repositories open without the usual password stretching (restorable scrypt N=1024; restic's key file re-wrapped with N=16, as test/helpers/restic.ts does), so the times below are prune work, not key derivation. Caches: each tool's cache folder is emptied before its dry run; the real prune runs with what the dry run left.`);
  L.push(`- Result check: both kept the same **${p.kept}** snapshots (same count, same snapshot times, asserted), restorable's dry-run plan kept the same number, and afterwards \`restorable verify --read-data\` and \`restic check --read-data\` pass.`);
  L.push("");
  L.push(table(["", "restorable", "restic", "restorable/restic", "target"], [
    ["plan only (`--dry-run`)", cell(p.rDry), cell(p.sDry), ratio(p.rDry.wallMs, p.sDry.wallMs), ""],
    ["**prune** (forget + remove data)", `**${cell(p.rReal)}**`, `**${cell(p.sReal)}**`, `**${ratio(p.rReal.wallMs, p.sReal.wallMs)}**`, `no slower than restic ${ok(p.rReal.wallMs <= p.sReal.wallMs)}`],
    ["peak RSS, plan only", mb(p.rDry.rssBytes), mb(p.sDry.rssBytes), ratio(p.rDry.rssBytes, p.sDry.rssBytes), `< 500 MB ${ok(p.rDry.rssBytes < TARGET_PRUNE_RSS)}`],
    ["**peak RSS, prune**", `**${mb(p.rReal.rssBytes)}**`, `**${mb(p.sReal.rssBytes)}**`, `**${ratio(p.rReal.rssBytes, p.sReal.rssBytes)}**`, `< 500 MB ${ok(p.rReal.rssBytes < TARGET_PRUNE_RSS)}`],
    ["snapshots kept / removed", `${p.kept} / ${SNAPSHOTS - p.kept}`, `${p.kept} / ${SNAPSHOTS - p.kept}`, "", "equal ✅"],
    ["repository before → after (du -sb)", `${mb(p.sizeBefore.restorable)} → ${mb(p.sizeAfter.restorable)}`, `${mb(p.sizeBefore.restic)} → ${mb(p.sizeAfter.restic)}`, ratio(p.sizeAfter.restorable, p.sizeAfter.restic), ""],
  ]));
  L.push("");
  L.push(`restorable's plan: ${int(p.rPlan.packs.total)} packs in storage, ${int(p.rPlan.packs.delete)} deleted, ${int(p.rPlan.packs.repack)} repacked (${mb(p.rPlan.bytes.repacked)}), about ${mb(p.rPlan.bytes.freed)} freed of ${mb(p.rPlan.bytes.total)}.`);
  L.push("");
  L.push("**How to read this.** Ratios are restorable divided by restic: below 1× restorable is faster or leaner. \"Plan only\" is each tool's dry run (restorable: retention decisions, which packs to delete or repack; restic: `forget --prune --dry-run`, the same for both steps); \"prune\" is the real command, which re-plans and then deletes snapshots, repacks and removes data. Times are wall clock from process start to exit, RSS is GNU time's `%M`. One run, on a shared two-core machine: treat differences under about 10 % as noise.");
  L.push("");
  L.push("Commands timed (cwd: the run folder; repository and password from the environment, TZ=UTC):");
  L.push("");
  L.push("```sh");
  L.push(`restorable prune ${POLICY.join(" ")} --grace 0 --dry-run --json`);
  L.push(`restic forget ${POLICY.join(" ")} --prune --dry-run`);
  L.push(`restorable prune ${POLICY.join(" ")} --grace 0 --json`);
  L.push(`restic forget ${POLICY.join(" ")} --prune`);
  L.push("```");
  L.push("");
  L.push("Reproduce: `npm run bench` (both scripts), or `node scripts/bench-prune-drill.mjs` alone (`BENCH_ONLY=prune`, `BENCH_PRUNE_SNAPSHOTS=N`, `BENCH_QUICK=1` for 100 snapshots and a small drill data set, written to `$BENCH_DIR/quick/benchmarks.md`).");
  L.push(PRUNE_MARKS[1]);
  return L.join("\n");
}

function drillSection(d, facts, meta) {
  const r = d.report;
  const ph = r.phases;
  const phase = (k) => (typeof ph[`${k}Ms`] === "number" ? secs(ph[`${k}Ms`]) : "—");
  const check = (n) => r.checks.find((c) => c.name === n);
  const restorePhase = ph.restoreMs ?? r.restore?.durationMs;
  const resticRto = d.resticRestore.wallMs + d.resticChecksMs;
  const L = [DRILL_MARKS[0]];
  L.push(`## Restore drill RTO on ${QUICK ? "the QUICK subset of D1 (not comparable with the published figures)" : "data set D1"}`);
  L.push("");
  L.push(`Written by \`npm run bench\` (scripts/bench-prune-drill.mjs) on ${when(meta.startedAt)} UTC.`);
  L.push("");
  L.push(machineLine(facts));
  L.push(loadLine(meta.loadStart, meta.loadEnd, facts.cores));
  L.push(`- Data: ${QUICK ? "the quick subset of D1 (200,000 rows, 2,000 files of the tree)" : "D1 (`../shared/bench/make-dataset.sh`, the DB before change C1)"}: ${int(d.source.files)} files, ${mb(d.source.bytes)} (du -sb), ${int(d.source.rows)} rows in \`post\`. One snapshot of \`data/\` into a fresh repository per tool, as in the core benchmark (\`restorable snapshot data\`: ${secs(d.restorableSnapshot.wallMs)}; \`restic backup data\`: ${secs(d.resticSnapshot.wallMs)}). Warm page cache for everything.`);
  L.push(`- Drill: \`restorable drill --config restorable.yml --json\`, database-only (no application), local sandbox under the run folder (same disk as the restore targets), two checks: \`sql\` \`SELECT count(*) FROM post\` expecting ${int(d.source.rows)} (observed ${check("post-rows")?.observed ?? "?"}), and \`sqlite-integrity\` (observed ${check("app-db")?.observed ?? "?"}). Phases and RTO are the drill's own \`--json\` report; RTO runs from the start of the restore to the end of the last check.`);
  L.push("");
  L.push(table(["phase", "restorable drill", "restic, same run", "restorable/restic"], [
    ["restore", phase("restore"), `${secs(d.resticRestore.wallMs)} (\`restic restore latest\`, whole process)`, restorePhase !== undefined ? ratio(restorePhase, d.resticRestore.wallMs) : ""],
    ["post-restore steps", phase("steps"), "—", ""],
    ["start to ready", r.app ? phase("startToReady") : "— (no application)", "—", ""],
    ["checks (row count + integrity_check)", phase("checks"), `${secs(d.resticChecksMs)} (the same two queries, sqlite3 CLI)`, typeof ph.checksMs === "number" ? ratio(ph.checksMs, d.resticChecksMs) : ""],
    ["**RTO**", `**${secs(r.rtoMs)}**`, `**${secs(resticRto)}** (restore + checks)`, `**${ratio(r.rtoMs, resticRto)}**`],
    ["teardown (not in RTO)", phase("teardown"), "—", ""],
    ["whole command, wall", cell(d.drill), `${cell(d.resticRestore)} (restore only)`, ""],
    ["peak RSS", mb(d.drill.rssBytes), `${mb(d.resticRestore.rssBytes)} (restore)`, ratio(d.drill.rssBytes, d.resticRestore.rssBytes)],
  ]));
  L.push("");
  L.push(`For reference, \`restorable restore latest --target DIR\` of the same snapshot in the same run: ${cell(d.restorableRestore)}, peak RSS ${mb(d.restorableRestore.rssBytes)} (${ratio(d.restorableRestore.wallMs, d.resticRestore.wallMs)} restic's restore). Raw phases from the report (ms): \`${JSON.stringify(ph)}\`.`);
  L.push("");
  L.push("**How to read this.** The drill's restore phase is the same work as `restorable restore` (through a read-only view of the repository); the drill adds the checks and the teardown, and records its result on the snapshot. restic has no drill: its column is what an operator gets by restoring with restic and running the same two queries by hand, timed the same way. Ratios are restorable divided by restic; below 1× restorable is faster. One run on a shared two-core machine: treat differences under about 10 % as noise.");
  L.push("");
  L.push("Commands timed (cwd: the data set folder; repository and password from the environment):");
  L.push("");
  L.push("```sh");
  L.push("restorable drill --config restorable.yml --json     # TMPDIR=<run folder>/tmp");
  L.push("restic restore latest --target DIR");
  L.push("sqlite3 'file:DIR/.../app.sqlite?immutable=1' 'SELECT count(*) FROM post'; sqlite3 ... 'PRAGMA integrity_check'");
  L.push("restorable restore latest --target DIR --json");
  L.push("```");
  L.push("");
  L.push("The drill's restorable.yml:");
  L.push("");
  L.push("```yaml");
  L.push(drillYaml(d.source.rows).trimEnd());
  L.push("```");
  L.push(DRILL_MARKS[1]);
  return L.join("\n");
}

// ---------------------------------------------------------------- main

async function main() {
  for (const [bin, why] of [[TIME_BIN, "GNU time (Debian package time)"], ["restic", "restic (Debian package restic)"], ["sqlite3", "sqlite3 (Debian package sqlite3)"]]) {
    if (spawnSync(bin, ["--version"], { stdio: "ignore" }).error) throw new Error(`missing ${bin}: install ${why}`);
  }
  if (ONLY && ONLY !== "prune" && ONLY !== "drill") throw new Error(`BENCH_ONLY must be prune or drill, got "${ONLY}"`);
  await mkdir(BENCH_DIR, { recursive: true });
  if (process.env.BENCH_NO_BUILD !== "1") {
    log("npm run build");
    run("npm", ["run", "--silent", "build"]);
  }
  for (const f of ["bin/restorable.js", "build/cli/main.js", "build/ops/snapshot/snapshot.js"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  await freezeApp(APP);
  const facts = machineFacts();
  if (ONLY !== "drill") {
    const meta = { startedAt: new Date(), loadStart: loadavg() };
    const p = await pruneBench();
    const section = pruneSection(p, facts, { ...meta, loadEnd: loadavg() });
    await writeDoc(section, ...PRUNE_MARKS);
    console.log(section);
  }
  if (ONLY !== "prune") {
    const meta = { startedAt: new Date(), loadStart: loadavg() };
    const d = await drillBench();
    const section = drillSection(d, facts, { ...meta, loadEnd: loadavg() });
    await writeDoc(section, ...DRILL_MARKS);
    console.log(section);
  }
  log(`written to ${DOC}`);
}

main().catch((err) => {
  console.error(`bench-prune-drill failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
