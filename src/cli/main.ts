/** Entry point of the `restorable` command (bin/restorable.js imports the built copy). */
import { run } from "./run.js";

/** SIGINT and SIGTERM, for commands that must clean up before exiting (a drill tears its sandbox down). */
const interrupts = (handler: (signal: string) => void): (() => void) => {
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, handler);
  return () => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, handler);
  };
};

const code = await run(process.argv.slice(2), { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interrupts });
// Let stdout drain (it may be a pipe) before exiting; open sockets or timers must not keep the process alive.
process.stdout.write("", () => process.exit(code));
