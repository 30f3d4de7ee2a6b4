#!/usr/bin/env -S MALLOC_ARENA_MAX=2 RESTORABLE_LAUNCHED=1 node --max-semi-space-size=8
// Restore creates files from up to 16 tasks at once and snapshot reads many
// files ahead: give libuv's thread pool room for them (it starts on first use).
//
// --max-semi-space-size=8 (MiB, in the line above; it applies to every thread):
// on this 24 GiB machine V8 let the main thread's young generation grow to
// 128 MiB. A D1 snapshot peaked at 507-530 MB with 8 against 584-597 MB with
// V8's default, at the same CPU time (17.8-18.1 s against 17.6-18.9 s user);
// 2 had cost 15 % more CPU (major GCs of promoted short-lived objects). Run as
// `node bin/restorable.js`, the flag is not applied.
//
// MALLOC_ARENA_MAX=2 (in the line above): glibc gives each thread that allocates
// a malloc arena of its own, and the restore and frame workers' arenas each
// grew to ~58 MB. With two arenas a D1 restore peaked at 490-503 MB against
// 484-547 MB, a snapshot at 428-431 against 435-450 MB, at the same times
// (three alternated pairs each). It is meant for this process only: the
// environment children get (hooks, pg_dump, a drill's application) is the
// user's, so the launcher's settings are removed from it here.
if (process.env.RESTORABLE_LAUNCHED === "1") {
  delete process.env.MALLOC_ARENA_MAX;
  delete process.env.RESTORABLE_LAUNCHED;
}
process.env.UV_THREADPOOL_SIZE ??= "16";
await import("../build/cli/main.js");
