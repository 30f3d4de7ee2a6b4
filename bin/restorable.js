#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to
// 3 x 16 MiB and, with what it promotes, the JS heap of a D1 snapshot peaked at
// 207 MB; with 2 MiB semi-spaces at 89 MB, at no measurable CPU cost (a
// snapshot makes many short-lived buffers). It applies when this file is run
// as a program (an installed `restorable`); `node bin/restorable.js` skips it.
//
// Restore creates files from up to 16 tasks at once and snapshot reads many
// files ahead: give libuv's thread pool room for them (it starts on first use).
process.env.UV_THREADPOOL_SIZE ??= "16";
await import("../build/cli/main.js");
