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
process.exitCode = code;
/**
 * The process ends when its event loop does (every command closes what it opened), not with process.exit():
 * that tears V8's platform down without the isolate, and a background compile job parked waiting for a
 * garbage collection then never returns. A `restore --verify` of our CLI test hung that way at exit, under
 * load, its main thread joining a V8 worker parked in CollectionBarrier::AwaitCollectionBackground
 * (nodejs/node#54918). Should anything still hold the loop open, the process exits anyway after this long (ms).
 */
const EXIT_GRACE_MS = 3000;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
