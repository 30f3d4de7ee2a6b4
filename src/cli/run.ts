/**
 * Builds the `restorable` program (commander) and runs one command line.
 * Returns the exit status; main.ts is the only caller that touches `process`.
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../core/errors.js";
import { VERSION } from "../version.js";
import { CliContext, type CliIo, type GlobalOptions } from "./context.js";
import { describeError } from "./errors.js";

/** What a command module exports: a function that adds its command(s) to the program. */
type Register = (program: Command, ctx: CliContext) => void;

/**
 * Every command module, loaded on demand (dynamic import): loading all of them (and through them yaml,
 * better-sqlite3, the sandboxes, the drill and restore code) cost about 0.3 s of CPU at every start, more than
 * a whole `snapshots` listing. Keys are the command words each module registers; order is the help's order.
 */
const MODULES: readonly { readonly words: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { words: ["init"], load: async () => (await import("./commands/init.js")).registerInit },
  { words: ["snapshot"], load: async () => (await import("./commands/snapshot.js")).registerSnapshot },
  { words: ["snapshots"], load: async () => (await import("./commands/snapshots.js")).registerSnapshots },
  { words: ["ls"], load: async () => (await import("./commands/ls.js")).registerLs },
  { words: ["diff"], load: async () => (await import("./commands/diff.js")).registerDiff },
  { words: ["verify"], load: async () => (await import("./commands/verify.js")).registerVerify },
  { words: ["restore"], load: async () => (await import("./commands/restore.js")).registerRestore },
  { words: ["drill"], load: async () => (await import("./commands/drill.js")).registerDrill },
  { words: ["key"], load: async () => (await import("./commands/key.js")).registerKey },
  { words: ["repair"], load: async () => (await import("./commands/repair.js")).registerRepair },
  { words: ["unlock"], load: async () => (await import("./commands/unlock.js")).registerUnlock },
  { words: ["prune"], load: async () => (await import("./commands/prune.js")).registerPrune },
  { words: ["forget", "pin", "unpin"], load: async () => (await import("./commands/forget.js")).registerForget },
];

/** Global options that take a value (`--repo X`), so the word after them is not the command. */
const VALUE_OPTIONS = new Set(["--repo", "--password-file", "--config"]);

/**
 * The command word of `argv` (the first argument that is neither an option nor a global option's value), or
 * undefined when there is none. Only looks; commander does the real parsing.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return argv[i + 1];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/**
 * The program with the command(s) of `argv` registered on `ctx`: only the module of the command word when it is
 * a known one, every command otherwise (no command, `help`, a typo that needs suggestions, `--help`).
 */
export async function buildProgram(ctx: CliContext, argv: readonly string[] = []): Promise<Command> {
  const program = new Command("restorable")
    .description("encrypted, deduplicated backups of SQLite databases and folders, proven by verify and restore")
    .version(VERSION, "--version")
    .option("--repo <location>", "repository: a folder or s3://bucket/prefix (env RESTORABLE_REPOSITORY)")
    .option("--password-file <file>", "file holding the repository password (env RESTORABLE_PASSWORD, RESTORABLE_PASSWORD_FILE; raw key: RESTORABLE_KEY)")
    .option("--config <file>", "configuration file (default ./restorable.yml when present)")
    .option("--json", "print exactly one JSON document on stdout")
    .option("-q, --quiet", "no progress and no notes on stderr")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
      outputError: () => undefined, // run() prints errors itself
    });
  program.hook("preAction", (_cmd, action) => ctx.setGlobals(action.optsWithGlobals<GlobalOptions>()));
  const word = commandWord(argv);
  const only = MODULES.find((m) => word !== undefined && m.words.includes(word));
  const registers = await Promise.all((only ? [only] : MODULES).map((m) => m.load()));
  for (const register of registers) register(program, ctx);
  for (const cmd of allCommands(program)) cmd.exitOverride().showSuggestionAfterError(true);
  return program;
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/**
 * Runs `argv` (arguments after the program name).
 * @returns the exit status: 0, EXIT_CODES[code] of a RestorableError, 2 for a usage error, 1 for anything unexpected.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    const program = await buildProgram(ctx, argv);
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (caught) {
    let err = caught;
    if (caught instanceof CommanderError) {
      if (caught.code === "commander.helpDisplayed" || caught.code === "commander.version") return 0;
      if (caught.code === "commander.help") {
        // `restorable` or `restorable key` alone: the usage went to stderr; with --json say so on stdout too.
        if (argv.includes("--json")) io.stdout.write(JSON.stringify({ error: { code: "CONFIG", message: "no command given", details: { field: "arguments" } } }, null, 2) + "\n");
        return 2;
      }
      err = new ConfigError(caught.message.replace(/^error: /, ""), { field: "arguments", commander: caught.code });
    }
    const json = ctx.json || argv.includes("--json");
    const d = describeError(err);
    io.stderr.write(`restorable: ${d.message}\n`);
    if (io.env.RESTORABLE_DEBUG === "1" && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    if (json && !ctx.emitted) io.stdout.write(JSON.stringify(d.doc, null, 2) + "\n");
    return d.exitCode;
  }
}
