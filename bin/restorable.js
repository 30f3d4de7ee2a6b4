#!/usr/bin/env node
// Restore creates files from up to 16 tasks at once and snapshot reads many
// files ahead: give libuv's thread pool room for them (it starts on first use).
process.env.UV_THREADPOOL_SIZE ??= "16";
await import("../build/cli/main.js");
