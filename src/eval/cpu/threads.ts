// Worker threads for the CPU kernels: the one place the runtimes differ. Node, Bun and Deno all have Node's
// worker_threads (reached without a static `node:` import, so the kernels stay importable in a browser, where the CPU
// pass runs on one thread); an eval worker needs no file to find from the sources, dist/ or the bundled CLI.

interface NodeWorker {
  postMessage(message: unknown): void;
  unref(): void;
}

interface WorkerThreads {
  Worker: new (source: string, options: { eval: true }) => NodeWorker;
}

interface NodeProcess {
  getBuiltinModule?(id: string): unknown;
}

const builtin = (id: string): unknown => (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.(id);

/**
 * Threads the CPU pass may use: the cores the runtime reports where it can start workers, else 1.
 *
 * @example
 * if (threadCount() > 1) startWorker(source, data);
 */
export function threadCount(): number {
  if (!builtin("node:worker_threads")) return 1;
  const os = builtin("node:os") as { availableParallelism?(): number; cpus(): unknown[] } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? os?.cpus().length ?? 1);
}

/**
 * Starts a worker running `source` (CommonJS: `require` is there) and posts it `message`. The worker never keeps
 * the process alive: a kernel worker blocks in Atomics.wait between jobs for as long as the process lives.
 *
 * @example
 * startWorker(`require("node:worker_threads").parentPort.once("message", (m) => run(m));`, { memory });
 */
export function startWorker(source: string, message: unknown): void {
  const { Worker } = builtin("node:worker_threads") as WorkerThreads;
  const worker = new Worker(source, { eval: true });
  worker.unref();
  worker.postMessage(message);
}
