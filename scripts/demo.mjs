#!/usr/bin/env node
// The main job on the embedded default (a local repository folder), as a user
// runs it: example application data with a database being written to while
// the snapshot runs, then init -> snapshot -> verify -> restore -> check.
// Everything lives under ./demo (DEMO_DIR overrides); run it again to add a
// second, deduplicated snapshot.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

const root = resolve(import.meta.dirname, "..");
const demo = resolve(process.env.DEMO_DIR ?? join(root, "demo"));
const data = join(demo, "data");
const repo = join(demo, "repository");
const passwordFile = join(demo, "password");
const cli = join(root, "bin", "restorable.js");
const env = { ...process.env, RESTORABLE_REPOSITORY: repo, RESTORABLE_PASSWORD_FILE: passwordFile };

function run(...args) {
  console.log(`\n$ restorable ${args.join(" ")}`);
  execFileSync(process.execPath, [cli, ...args], { env, stdio: "inherit" });
}

function makeData() {
  mkdirSync(join(data, "uploads"), { recursive: true });
  const db = new Database(join(data, "app.sqlite"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS post(id INTEGER PRIMARY KEY, author TEXT, body TEXT, created INTEGER)");
  const insert = db.prepare("INSERT INTO post(author, body, created) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < 20000; i++) insert.run(`did:plc:user${i % 500}`, `post ${i}: ${randomBytes(24).toString("hex")}`, Date.now());
  })();
  db.close();
  for (let i = 0; i < 20; i++) writeFileSync(join(data, "uploads", `image-${i}.bin`), randomBytes(64 * 1024));
  writeFileSync(join(data, "settings.json"), JSON.stringify({ handle: "alice.test", version: 1 }, null, 2));
  const bare = join(data, "repos", "alice.git");
  execFileSync("git", ["init", "-q", "--bare", bare]);
  writeFileSync(join(bare, "hooks", "post-receive"), "#!/bin/sh\necho deployed\n");
  chmodSync(join(bare, "hooks", "post-receive"), 0o755);
}

if (!existsSync(data)) {
  console.log(`creating example data in ${data}`);
  makeData();
}
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString("base64") + "\n", { mode: 0o600 });
if (!existsSync(join(repo, "config"))) run("init");

// A writer commits to the database the whole time the snapshot runs.
const writer = spawn(process.execPath, ["-e", `
  const Database = require(${JSON.stringify(join(root, "node_modules", "better-sqlite3"))});
  const db = new Database(${JSON.stringify(join(data, "app.sqlite"))});
  db.pragma("busy_timeout = 5000");
  const ins = db.prepare("INSERT INTO post(author, body, created) VALUES ('did:plc:live', 'written during the snapshot', ?)");
  setInterval(() => ins.run(Date.now()), 20);
`], { stdio: "ignore" });
try {
  run("snapshot", data, "--tag", "demo");
} finally {
  writer.kill();
}
run("snapshots");
run("verify", "latest", "--read-data", "--semantic");
const target = join(demo, "restore");
rmSync(target, { recursive: true, force: true });
run("restore", "latest", "--target", target, "--verify");
const restored = new Database(join(target, "data", "app.sqlite"), { readonly: true });
const check = restored.pragma("integrity_check", { simple: true });
const rows = restored.prepare("SELECT count(*) FROM post").pluck().get();
restored.close();
console.log(`\nrestored database: integrity_check=${check}, ${rows} posts; files under ${target}/data`);
if (check !== "ok") process.exit(1);
