/**
 * Builds the `restorable` program (commander) and runs one command line.
 * Returns the exit status; main.ts is the only caller that touches `process`.
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../core/errors.js";
import { VERSION } from "../version.js";
import { registerDiff } from "./commands/diff.js";
import { registerDrill } from "./commands/drill.js";
import { registerForget } from "./commands/forget.js";
import { registerInit } from "./commands/init.js";
import { registerKey } from "./commands/key.js";
import { registerLs } from "./commands/ls.js";
import { registerPrune } from "./commands/prune.js";
import { registerRepair } from "./commands/repair.js";
import { registerRestore } from "./commands/restore.js";
import { registerSnapshot } from "./commands/snapshot.js";
import { registerSnapshots } from "./commands/snapshots.js";
import { registerUnlock } from "./commands/unlock.js";
import { registerVerify } from "./commands/verify.js";
import { CliContext, type CliIo, type GlobalOptions } from "./context.js";
import { describeError } from "./errors.js";

/** The program with every command registered on `ctx`. */
export function buildProgram(ctx: CliContext): Command {
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
  for (const register of [registerInit, registerSnapshot, registerSnapshots, registerLs, registerDiff, registerVerify, registerRestore, registerDrill, registerKey, registerRepair, registerUnlock, registerPrune, registerForget]) {
    register(program, ctx);
  }
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
  const program = buildProgram(ctx);
  try {
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
