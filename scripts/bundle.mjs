#!/usr/bin/env node
// Bundles each GitHub Action with @vercel/ncc into dist/<name>/ (`npm run bundle`):
//   index.js            the action (ESM; src/action/<name>/main.ts and everything it imports)
//   frame-worker.js     worker threads, loaded by URL next to the module that starts them
//   restore-worker.js   (src/sources/worker-url.ts finds them beside index.js)
//   sqlite-worker.js
//   prebuilds/linux-x64.node   better-sqlite3's binary: the bundles run on linux-x64 runners only
//   package.json        {"type": "module"}
//   licenses.txt        licenses of the bundled third-party code
//
// better-sqlite3's default entry looks its binary up at run time (__dirname, which an ESM bundle does
// not have, and any of 8 platforms), so for the bundles every import of "better-sqlite3" is mapped to
// its static `better-sqlite3/linux-x64` entry. ncc resolves through the nearest tsconfig.json's
// `paths` (tsconfig-paths-webpack-plugin), so the entries are compiled from a staging folder whose
// tsconfig.json carries that one mapping; the project's own tsconfig is untouched.
//
// Usage: node scripts/bundle.mjs [--out DIR] [name...]   (default: every action, into dist/)
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ACTIONS = ["snapshot", "verify", "restore-drill", "prune", "clone-cluster"];
/** Worker scripts: output name -> source (relative to the repository root). */
export const WORKERS = {
  "frame-worker": "src/repo/frame-worker.ts",
  "restore-worker": "src/ops/restore/restore-worker.ts",
  "sqlite-worker": "src/sources/sqlite-worker.ts",
};
/** The platform the bundles carry the better-sqlite3 binary for. */
export const PLATFORM_ENTRY = "better-sqlite3/linux-x64";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** Compiles one entry (a file in the staging folder); returns ncc's { code, assets }. */
async function compile(ncc, entry) {
  return ncc(entry, {
    cache: false, // its filesystem cache keys on absolute paths and did not make a rebuild faster
    externals: [],
    filterAssetBase: ROOT,
    minify: false,
    sourceMap: false,
    quiet: true,
    target: "es2022",
    transpileOnly: true, // `npm run typecheck` type-checks the sources
    license: "licenses.txt",
  });
}

async function writeAssets(dir, assets) {
  for (const [name, asset] of Object.entries(assets)) {
    const file = join(dir, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, asset.source);
    if (asset.permissions) await chmod(file, asset.permissions & 0o755);
  }
}

/**
 * Bundles `names` into `outDir/<name>/`.
 * @returns per action: the files written (relative to its folder).
 */
export async function bundle(outDir, names = ACTIONS) {
  const ncc = require("@vercel/ncc");
  const stage = await mkdtemp(join(ROOT, ".bundle-"));
  const cwd = process.cwd();
  try {
    const target = require.resolve(PLATFORM_ENTRY, { paths: [ROOT] });
    const entries = [...Object.keys(WORKERS), ...names].map((n) => `${n}.ts`);
    await writeFile(join(stage, "tsconfig.json"), JSON.stringify({
      extends: relative(stage, join(ROOT, "tsconfig.json")),
      // ESNext/Bundler: transpile-only compilation cannot see package.json "type", and NodeNext would emit CommonJS
      compilerOptions: { rootDir: "..", module: "ESNext", moduleResolution: "Bundler", paths: { "better-sqlite3": [relative(stage, target)] } },
      files: entries, // not `include`: TypeScript's wildcards skip the dot-named staging folder
    }, null, 2));
    await writeFile(join(stage, "package.json"), JSON.stringify({ type: "module" }));
    process.chdir(stage); // the paths plugin reads ./tsconfig.json
    const compileAll = async (list) => {
      // Two at a time: webpack is mostly single-threaded, and bundling every action is the slow part of the dist test.
      const out = {};
      const queue = [...list];
      const lane = async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const entry = join(stage, `${item.name}.ts`);
          await writeFile(entry, `import "${relative(stage, item.src).replace(/\.ts$/, ".js")}";\n`);
          out[item.name] = await compile(ncc, entry);
        }
      };
      await Promise.all([lane(), lane()]);
      return out;
    };
    for (const name of names) {
      const src = join(ROOT, "src", "action", name, "main.ts");
      if (!existsSync(src)) throw new Error(`no entry point for action "${name}": ${relative(ROOT, src)} is missing`);
    }
    const built = await compileAll([
      ...Object.entries(WORKERS).map(([name, src]) => ({ name, src: join(ROOT, src) })),
      ...names.map((name) => ({ name, src: join(ROOT, "src", "action", name, "main.ts") })),
    ]);
    const written = {};
    for (const name of names) {
      const { code, assets } = built[name];
      const dir = join(outDir, name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "index.js"), code);
      await writeAssets(dir, assets);
      for (const worker of Object.keys(WORKERS)) {
        const out = built[worker];
        await writeFile(join(dir, `${worker}.js`), out.code);
        const { "licenses.txt": _ignored, ...rest } = out.assets; // the action's licenses.txt already lists them
        await writeAssets(dir, rest);
      }
      await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }) + "\n");
      written[name] = ["index.js", ...Object.keys(assets), ...Object.keys(WORKERS).map((w) => `${w}.js`)];
    }
    return written;
  } finally {
    process.chdir(cwd);
    await rm(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out = join(ROOT, "dist");
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") out = resolve(args[++i]);
    else names.push(args[i]);
  }
  const started = Date.now();
  const written = await bundle(out, names.length ? names : ACTIONS);
  for (const [name, files] of Object.entries(written)) console.log(`${relative(process.cwd(), join(out, name))}: ${files.join(", ")}`);
  console.log(`bundled ${Object.keys(written).length} action(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
