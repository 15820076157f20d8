// Preloaded (--require, on Node, Bun and Deno) into a benchmark's `yarnify` process: when it exits, prints one line of
// JSON, {"seconds": from here (the runtime started) to the exit, "maxRssMiB": peak RSS (VmHWM, as bench/peak-rss.ts)}.
// CommonJS and synchronous, so that on Node it starts nothing before bin/yarnify.cjs sizes libuv's thread pool.
"use strict";
const { readFileSync } = require("node:fs");

const started = performance.now();
process.on("exit", () => {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, maxRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN }));
});
