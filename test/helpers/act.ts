/**
 * Running workflows with act (github.com/nektos/act) the way the e2e tests
 * need: no Docker (`-P <label>=-self-hosted` runs jobs on this machine),
 * Node 24 first on PATH (act runs `node` from PATH for node24 actions),
 * `--local-repository restorable/restorable@v1=<this working tree>` (act
 * cannot clone from GitHub here, and the tests must use the actions and
 * reusable workflows as they are in the tree), and JSON logs, from which the
 * step outputs and job results are read.
 *
 * act copies the whole mapped folder into its workspace for every step that
 * uses an action from it; the working tree with node_modules and .git takes
 * about 20 s per step. So the mapping points at a copy of the parts of the
 * tree a consumer of `restorable/restorable@v1` uses: actions/, dist/ and
 * .github/workflows/ (see {@link projectCopy}).
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
/** How the workflows refer to this project's actions and reusable workflows. */
export const PROJECT_REF = "restorable/restorable@v1";
/** The act release the tests are written for (first with node24 actions: see scripts/lib/ensure.sh). */
export const ACT_VERSION = "v0.2.89";

/** Finds act: ACT_BIN, PATH, $GOPATH/bin, ~/go/bin. @throws with install instructions (a missing act fails the test). */
export function findAct(): string {
  const candidates = [
    ...(process.env.ACT_BIN ? [process.env.ACT_BIN] : []),
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "act")),
    ...(process.env.GOPATH ? [join(process.env.GOPATH, "bin", "act")] : []),
    join(homedir(), "go", "bin", "act"),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(`act not found (looked in ACT_BIN, PATH, ~/go/bin): install it with go install github.com/nektos/act@${ACT_VERSION} (scripts/lib/ensure.sh ensure_act does)`);
}

/** The folders of this tree that workflows using `restorable/restorable@v1` read. */
export const PUBLISHED_PARTS = ["actions", "dist", ".github/workflows"] as const;

/** Copies {@link PUBLISHED_PARTS} of the working tree into `dir`; returns `dir`. */
export async function projectCopy(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const part of PUBLISHED_PARTS) await cp(join(ROOT, part), join(dir, part), { recursive: true });
  return dir;
}

/** One `act` run. */
export interface ActRun {
  readonly status: number | null;
  /** The JSON log lines, parsed. */
  readonly log: readonly Record<string, unknown>[];
  /** Step outputs as `<job>/<step id>.<output>` (job as act names it, e.g. `backup/backup.yml/backup`). */
  readonly outputs: Readonly<Record<string, string>>;
  /** Job results: job name -> success | failure. */
  readonly jobs: Readonly<Record<string, string>>;
  /** The log messages, for failure messages. */
  readonly text: string;
}

/** Options of {@link runAct}. */
export interface ActOptions {
  /** The user's repository (the working tree act copies into its workspace). */
  readonly cwd: string;
  /** The event: schedule, workflow_dispatch, pull_request... */
  readonly event: string;
  /** The workflow file, relative to cwd. */
  readonly workflow: string;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly vars?: Readonly<Record<string, string>>;
  readonly inputs?: Readonly<Record<string, string>>;
  /** An event payload file. */
  readonly eventPath?: string;
  /** act's cache folder (actions and host workspaces). */
  readonly cacheDir: string;
  /** What `restorable/restorable@v1` maps to: a {@link projectCopy} of this tree. */
  readonly project: string;
  readonly timeoutMs?: number;
}

/** Runs act and collects its JSON log. Secrets go through the environment (`-s NAME` reads $NAME), not the command line. */
export async function runAct(o: ActOptions): Promise<ActRun> {
  const args = [
    o.event, "-W", o.workflow, "--json",
    "-P", "ubuntu-latest=-self-hosted", "-P", "self-hosted=-self-hosted",
    "--local-repository", `${PROJECT_REF}=${o.project}`,
    "--action-cache-path", o.cacheDir,
    "--no-cache-server",
    ...Object.keys(o.secrets ?? {}).flatMap((k) => ["-s", k]),
    ...Object.entries(o.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}=${v}`]),
    ...Object.entries(o.inputs ?? {}).flatMap(([k, v]) => ["--input", `${k}=${v}`]),
    ...(o.eventPath ? ["-e", o.eventPath] : []),
  ];
  const env: Record<string, string> = {
    PATH: [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(delimiter),
    HOME: process.env.HOME ?? homedir(),
    ...(o.secrets ?? {}),
  };
  const child = spawn(findAct(), args, { cwd: o.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 240_000);
  const status = await new Promise<number | null>((res) => child.on("close", (code) => res(code)));
  clearTimeout(timer);
  const log: Record<string, unknown>[] = [];
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      log.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a non-JSON line
    }
  }
  const outputs: Record<string, string> = {};
  const jobs: Record<string, string> = {};
  for (const e of log) {
    if (e.command === "set-output" && typeof e.name === "string") outputs[`${String(e.job)}/${(e.stepID as string[] | undefined)?.join(".") ?? "?"}.${e.name}`] = String(e.arg ?? "");
    if (typeof e.jobResult === "string") jobs[String(e.job)] = e.jobResult;
  }
  const text = log.map((e) => `[${String(e.job ?? "")}] ${String(e.msg ?? "").trimEnd()}`).join("\n") + (log.length ? "" : out);
  return { status, log, outputs, jobs, text };
}

/** The value of output `name` of step `step` in any job whose name contains `job`. */
export function output(run: ActRun, job: string, step: string, name: string): string | undefined {
  for (const [k, v] of Object.entries(run.outputs)) {
    const [jobName, rest] = [k.slice(0, k.lastIndexOf("/")), k.slice(k.lastIndexOf("/") + 1)];
    if (jobName.includes(job) && rest === `${step}.${name}`) return v;
  }
  return undefined;
}
