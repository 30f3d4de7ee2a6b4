/**
 * Runs an action bundle the way a GitHub runner does, but from a COPY of
 * `dist/<name>/` outside the repository (so nothing can be resolved from
 * the repository's node_modules): Node 24, each input as `INPUT_<NAME>`
 * (upper-cased, spaces to `_`, as the runner and `@actions/core` spell it),
 * and fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, parsed back. Each
 * run gets its own RUNNER_TEMP below the copies' folder, kept until cleanup().
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

/** What one run produced. */
export interface BundleRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** GITHUB_OUTPUT parsed: name -> value. */
  readonly outputs: Record<string, string>;
  /** The GITHUB_STEP_SUMMARY file's content. */
  readonly summary: string;
  /** Wall time, ms. */
  readonly ms: number;
}

/** The environment variable the runner uses for input `name`. */
export function inputVar(name: string): string {
  return `INPUT_${name.replace(/ /g, "_").toUpperCase()}`;
}

/**
 * Parses a GITHUB_OUTPUT file: `name=value` lines and `name<<DELIM ... DELIM` blocks
 * (docs: "Workflow commands for GitHub Actions", "Setting an output parameter").
 */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      out[heredoc[1]!] = value.join("\n");
    } else if (line.includes("=")) {
      out[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    }
  }
  return out;
}

/** Copies of the bundles outside the repository, made once per test file. */
export class BundleCopies {
  private dir: string | undefined;

  /** Copies `dist/<name>/` (index.js, chunks, workers, prebuilds, package.json) to a temporary folder; returns the folder. */
  async copy(name: string): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), "restorable-bundles-"));
    const to = join(this.dir, name);
    await cp(join(ROOT, "dist", name), to, { recursive: true, force: true });
    return to;
  }

  /**
   * @throws when a `node_modules` folder exists in the copy of `name` or in any folder above it: the bundle must
   *   run with nothing to resolve packages from.
   */
  assertNoNodeModules(name: string): void {
    if (!this.dir) throw new Error("no bundle copied yet");
    for (let d = join(this.dir, name); ; d = dirname(d)) {
      if (existsSync(join(d, "node_modules"))) throw new Error(`${join(d, "node_modules")} exists: the bundle copy could resolve packages from it`);
      if (dirname(d) === d) return;
    }
  }

  async cleanup(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Runs bundle `name` with `inputs` in `cwd`.
   * @param env extra environment (S3 credentials, RESTORABLE_SCRYPT_N...); PATH starts with this Node's folder.
   */
  async run(name: string, inputs: Readonly<Record<string, string>>, options: { cwd: string; env?: Readonly<Record<string, string>>; timeoutMs?: number }): Promise<BundleRun> {
    const bundle = await this.copy(name);
    const work = await mkdtemp(join(this.dir!, "runner-"));
    const outputFile = join(work, "output");
    const summaryFile = join(work, "summary.md");
    await writeFile(outputFile, "");
    await writeFile(summaryFile, "");
    const env: Record<string, string> = {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: process.env.HOME ?? "/root",
      RUNNER_TEMP: work,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKSPACE: options.cwd,
      ...(options.env ?? {}),
    };
    for (const [k, v] of Object.entries(inputs)) env[inputVar(k)] = v;
    const started = Date.now();
    const child = spawn(process.execPath, [join(bundle, "index.js")], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    const status = await new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    clearTimeout(timer);
    const result = {
      status, stdout, stderr, ms: Date.now() - started,
      outputs: parseOutputFile(await readFile(outputFile, "utf8")),
      summary: await readFile(summaryFile, "utf8"),
    };
    return result;
  }
}
