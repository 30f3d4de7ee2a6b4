/**
 * Turns what the user named into `SourceSpec[]` for `snapshot()`: either the
 * `sources:` of restorable.yml, or paths from the command line (a folder is a
 * `directory` source, a SQLite database file a `sqlite` source).
 *
 * Names: a source `NAME` is restored to `<target>/NAME/`. When no name is
 * given it is the last segment of the path (of `filename`, or of the
 * command's program, for command sources), with characters outside
 * `[A-Za-z0-9._-]` replaced by `_` (`/` alone becomes `root`).
 */
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { ConfigError, SourceError } from "../core/errors.js";
import type { SourceSpec } from "../ops/snapshot/snapshot.js";
import { isSqliteFile } from "../sources/index.js";
import type { LoadedConfig } from "./load.js";
import { isSourceName } from "./schema.js";

/** The default source name for `path`: its last segment made safe (see the module comment). */
export function defaultSourceName(path: string): string {
  const base = basename(path.replace(/\/+$/, ""));
  if (base === "") return "root";
  const safe = base.replace(/[^A-Za-z0-9._-]/g, "_");
  return safe === "." || safe === ".." ? safe.replace(/\./g, "_") : safe;
}

/**
 * The `sources:` of a loaded file as specs, paths made absolute against the file's folder.
 * @throws ConfigError when the file has no `sources:` or two sources end up with the same name
 *   (message names the file and `sources[i].name`).
 */
export function configSourceSpecs(loaded: LoadedConfig): SourceSpec[] {
  const sources = loaded.config.sources;
  if (!sources || sources.length === 0) {
    throw new ConfigError(`${loaded.label}: sources: required to take a snapshot without paths on the command line (or name the paths: restorable snapshot PATH...)`, { file: loaded.label, field: "sources" });
  }
  const specs = sources.map((s): SourceSpec => {
    switch (s.type) {
      case "directory":
        return {
          kind: "directory", name: s.name ?? defaultSourceName(s.path), path: resolve(loaded.dir, s.path),
          ...(s.include ? { include: s.include } : {}), ...(s.exclude ? { exclude: s.exclude } : {}), ...(s.sqlite ? { sqlite: s.sqlite } : {}),
        };
      case "sqlite":
        return { kind: "sqlite", name: s.name ?? defaultSourceName(s.path), path: resolve(loaded.dir, s.path) };
      case "command":
        return {
          kind: "command", name: s.name ?? defaultSourceName(s.filename ?? s.command[0]!), command: s.command,
          ...(s.filename ? { filename: s.filename } : {}),
        };
    }
  });
  assertDistinct(specs.map((s) => s.name), (i) => `${loaded.label}: sources[${i}].name`, loaded.label);
  return specs;
}

/**
 * Specs for paths given on the command line, resolved against `cwd`.
 * @throws SourceError when a path does not exist or cannot be read (nothing is committed).
 * @throws ConfigError when a path is a file that is not a SQLite database, or two paths share a name.
 */
export async function pathSourceSpecs(paths: readonly string[], cwd: string): Promise<SourceSpec[]> {
  const specs: SourceSpec[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new SourceError(`source path does not exist: ${p}`, { path: p }, { cause: err });
      throw new SourceError(`cannot read source path ${p}: ${(err as Error).message}`, { path: p, errno: code }, { cause: err });
    }
    const name = defaultSourceName(abs);
    if (st.isDirectory()) specs.push({ kind: "directory", name, path: abs });
    else if (st.isFile() && (await isSqliteFile(abs))) specs.push({ kind: "sqlite", name, path: abs });
    else throw new ConfigError(`${p}: not a folder nor a SQLite database; name its folder instead (include/exclude in restorable.yml select files)`, { field: "paths", path: p });
  }
  assertDistinct(specs.map((s) => s.name), (i) => `${paths[i]}: source name "${specs[i]!.name}"`, "command line");
  return specs;
}

function assertDistinct(names: readonly string[], where: (i: number) => string, file: string): void {
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    if (!isSourceName(n)) throw new ConfigError(`${where(i)}: "${n}" is not a valid source name`, { file, field: `sources[${i}].name` });
    const prev = seen.get(n);
    if (prev !== undefined) {
      throw new ConfigError(`${where(i)}: two sources are named "${n}" (also source ${prev + 1}); give each a distinct name`, { file, field: `sources[${i}].name` });
    }
    seen.set(n, i);
  });
}
