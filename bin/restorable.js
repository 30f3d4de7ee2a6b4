#!/usr/bin/env node
// Restore creates files from up to 16 tasks at once and snapshot reads many
// files ahead: give libuv's thread pool room for them (it starts on first use).
//
// V8's defaults are kept on purpose: --max-semi-space-size=2 lowered the peak
// RSS of a D1 snapshot by ~80 MB (570-585 MB against 640-680 MB) but cost 15 %
// more CPU, mostly in major GCs of promoted short-lived objects.
process.env.UV_THREADPOOL_SIZE ??= "16";
await import("../build/cli/main.js");
