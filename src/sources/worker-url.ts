/**
 * Where a worker thread's script is: `<stem>.js` next to the calling module
 * (the compiled build, and the action bundles in `dist/<action>/`, where
 * scripts/bundle.mjs writes each worker as its own file beside `index.js`),
 * else `<stem>.ts` (running from source under vitest, through Node 24's type
 * stripping).
 *
 * The file names are built at run time on purpose: a bundler (ncc, i.e.
 * webpack 5) rewrites a literal `new URL("./x.js", import.meta.url)` into a
 * reference to a copied asset, which would hand the worker an uncompiled
 * file. A computed name is left alone and resolved against the bundle's own
 * `import.meta.url` at run time.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Extensions tried, in order. */
const EXTENSIONS = [".js", ".ts"] as const;

/**
 * The URL of `<stem>.js` or `<stem>.ts` in the folder of `moduleUrl`.
 * @param moduleUrl the caller's `import.meta.url`.
 * @param stem the worker's file name without extension, e.g. `frame-worker`.
 * @throws Error naming both candidates when neither exists (a broken build or bundle).
 */
export function findWorkerUrl(moduleUrl: string, stem: string): URL {
  for (const ext of EXTENSIONS) {
    const candidate = new URL(`./${stem}${ext}`, moduleUrl);
    if (existsSync(fileURLToPath(candidate))) return candidate;
  }
  throw new Error(`${stem}.js (or .ts) not found next to ${fileURLToPath(moduleUrl)}`);
}
