// The matrix product over every core: a product's column panels are claimed one by one by the calling thread and
// the kernel workers, which share the kernels' WebAssembly memory, so nothing is copied between threads. Each output
// element is computed by one thread in the same order as on one, so the results do not depend on the thread count.
import { startWorker } from "./threads.ts";

/** The kernel's signature (simd.ts). */
export type Gemm = (a: number, b: number, c: number, M: number, N: number, K: number, lda: number, ldb: number, ldc: number, accumulate: number) => void;

/**
 * Int32s at the start of the memory that coordinate the threads: 0 the job's generation (workers wait on it), 1 the
 * claim word (generation's low 16 bits above the next chunk's index), 2 chunks done, then two argument slots of 12
 * (the generation's parity picks one, so a late worker never reads the next job's arguments as this one's).
 */
export const CONTROL_INTS = 32;

/**
 * Runs chunks of job `gen` until none is left or a newer job has begun; by the calling thread and every worker.
 * Self-contained (no outside names) because workers run it from its source text.
 */
function runChunks(ctl: Int32Array, gemm: Gemm, gen: number): void {
  const tag = gen & 0xffff;
  const s = 4 + 12 * (gen & 1);
  for (;;) {
    const v = Atomics.load(ctl, 1);
    if (v >>> 16 !== tag) return;
    const i = v & 0xffff;
    const chunks = ctl[s + 11]!;
    if (i >= chunks) return;
    if (Atomics.compareExchange(ctl, 1, v, v + 1) !== v) continue;
    // Slot: a, b, c, M, N, K, lda, ldb, ldc, accumulate, columns per chunk, chunks.
    const c0 = i * ctl[s + 10]!;
    const n = Math.min(ctl[s + 10]!, ctl[s + 4]! - c0);
    gemm(ctl[s]!, ctl[s + 1]! + c0 * ctl[s + 7]!, ctl[s + 2]! + c0, ctl[s + 3]!, n, ctl[s + 5]!, ctl[s + 6]!, ctl[s + 7]!, ctl[s + 8]!, ctl[s + 9]!);
    if (Atomics.add(ctl, 2, 1) + 1 === chunks) Atomics.notify(ctl, 2);
  }
}

/** A worker's life: its own instance of the kernels over the shared memory, then every job it is woken for. */
function workerLoop(memory: WebAssembly.Memory, bytes: Uint8Array<ArrayBuffer>, run: typeof runChunks): void {
  const gemm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.gemm as Gemm;
  const ctl = new Int32Array(memory.buffer, 0, 32);
  let seen = Atomics.load(ctl, 0);
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    run(ctl, gemm, seen);
  }
}

// Below this many multiply-adds a product runs on the calling thread: waking a worker costs more than it saves.
const MIN_WORK = 1 << 20;
// Chunks per thread: finer than one each, so a thread another process slows down takes fewer.
const CHUNKS_PER_THREAD = 4;

/**
 * A gemm that splits large products' columns over `threads` threads (the caller and threads − 1 workers started
 * here), over a shared memory whose first CONTROL_INTS int32s are left to this pool.
 *
 * @example
 * const gemm = parallelGemm(instance.exports.gemm, memory, bytes, 2);
 */
export function parallelGemm(gemm: Gemm, memory: WebAssembly.Memory, bytes: Uint8Array<ArrayBuffer>, threads: number): Gemm {
  const ctl = new Int32Array(memory.buffer, 0, CONTROL_INTS);
  const source = `require("node:worker_threads").parentPort.once("message", (m) => (${workerLoop})(m.memory, m.bytes, ${runChunks}));`;
  for (let w = 1; w < threads; w++) startWorker(source, { memory, bytes });
  let gen = 0;
  return (a, b, c, M, N, K, lda, ldb, ldc, accumulate) => {
    const panels = N / 4;
    if (M * N * K < MIN_WORK || panels < 2) return gemm(a, b, c, M, N, K, lda, ldb, ldc, accumulate);
    const chunks = Math.min(panels, threads * CHUNKS_PER_THREAD);
    gen = (gen + 1) & 0x7fffffff;
    const s = 4 + 12 * (gen & 1);
    ctl.set([a, b, c, M, N, K, lda, ldb, ldc, accumulate, Math.ceil(panels / chunks) * 4, chunks], s);
    ctl[s + 11] = Math.ceil(N / ctl[s + 10]!);
    Atomics.store(ctl, 2, 0);
    Atomics.store(ctl, 1, (gen & 0xffff) << 16);
    Atomics.store(ctl, 0, gen);
    Atomics.notify(ctl, 0);
    runChunks(ctl, gemm, gen);
    const total = ctl[s + 11]!;
    for (let done = Atomics.load(ctl, 2); done < total; done = Atomics.load(ctl, 2)) Atomics.wait(ctl, 2, done);
  };
}
