// Imported first by the CLI: Node runs file reads and writes on libuv's thread pool, 4 threads unless
// UV_THREADPOOL_SIZE says otherwise, read when the pool first starts. A local GGUF copy keeps LOCAL_LANES chunks in
// flight (each lane one read, write or read-back at a time); with fewer threads than lanes they would queue.
// A size the user set is kept.
import { LOCAL_LANES } from "../../converters/gguf/copy.ts";

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, LOCAL_LANES));
