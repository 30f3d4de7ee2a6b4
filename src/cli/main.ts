/** Entry point of the `restorable` command (bin/restorable.js imports the built copy). */
import { run } from "./run.js";

const code = await run(process.argv.slice(2), { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
// Let stdout drain (it may be a pipe) before exiting; open sockets or timers must not keep the process alive.
process.stdout.write("", () => process.exit(code));
