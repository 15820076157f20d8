#!/usr/bin/env node
// `yarnify` on Node (Bun and Deno run src/cli.ts). Node reads and writes files on libuv's thread pool, which takes
// its size (UV_THREADPOOL_SIZE, default 4) when it first starts, and an ES module entry starts it while loading
// itself; so this CommonJS entry sizes it first: a thread per core, at least 4, so that the lanes of a local GGUF
// copy (converters/gguf/copy.ts, LOCAL_LANES: 4 to 8 by core count) never wait for a thread. A size the user set
// is kept. The CLI it loads is bundled (scripts/bundle-cli.ts) and, on Node ≥ 22.1, compiled once into Node's
// on-disk cache: both cut start-up, which is most of what a patch costs beyond copying the file.
"use strict";
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, require("node:os").availableParallelism()));
require("node:module").enableCompileCache?.();
import("../dist/cli/cli.js");
