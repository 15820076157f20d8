// The CPU kernels' jobs over every core: a large product's column panels, or attention's KV heads, claimed one by
// one by the calling thread and the kernel workers, which share the kernels' WebAssembly memory, so nothing is copied
// between threads. Each output element is computed by one thread in the same order as on one, so the results do not
// depend on the thread count.
import { startWorker } from "./threads.ts";

/** The kernels' signatures (simd.ts). */
export type Gemm = (a: number, b: number, c: number, M: number, N: number, K: number, lda: number, ldb: number, ldc: number, accumulate: number) => void;
export type SoftmaxStep = (sc: number, lds: number, nr: number, sn: number, s0: number, lo: number, hi: number, m: number, l: number, acc: number, ldacc: number) => void;

/**
 * Int32s at the start of the memory that coordinate the threads: 0 the job's generation (workers wait on it), 1 the
 * claim word (generation's low 16 bits above the next chunk's index), 2 chunks done, then two job slots of 28 (the
 * generation's parity picks one, so a late worker never reads the next job's arguments as this one's): the job's
 * kind (0 product, 1 attention), its chunks, its arguments.
 */
export const CONTROL_INTS = 64;
const SLOT = 28;

/**
 * One KV head's causal attention (ops.ts lays it out): every query tile of the head against its key tiles, Q·Kᵀ,
 * the online-softmax step and P·V into the head's accumulator rows. Arguments at p: L, group, Dp, Lp, window, the
 * kernel's rows per step, the query and key tiles, rows per head, then the float offsets of K, Vᵀ, Q, the scores,
 * the accumulators, m, l and the int offsets of lo, hi (head 0; the others follow at fixed strides).
 * Self-contained (no outside names) because workers run it from its source text.
 */
export function attendHead(args: Int32Array, p: number, h: number, gemm: Gemm, softmaxStep: SoftmaxStep): void {
  const L = args[p]!, group = args[p + 1]!, Dp = args[p + 2]!, Lp = args[p + 3]!, window = args[p + 4]!;
  const mul = args[p + 5]!, QT = args[p + 6]!, KT = args[p + 7]!, rowsP = args[p + 8]!;
  const R = Math.ceil((QT * group) / mul) * mul;
  const kh = args[p + 9]! + h * Lp * Dp, vt = args[p + 10]! + h * Dp * Lp, qb = args[p + 11]! + h * rowsP * Dp;
  const sc = args[p + 12]! + h * R * KT, acc = args[p + 13]! + h * rowsP * Dp;
  const m = args[p + 14]! + h * rowsP, l = args[p + 15]! + h * rowsP, lo = args[p + 16]! + h * rowsP, hi = args[p + 17]! + h * rowsP;
  for (let t0 = 0; t0 < L; t0 += QT) {
    const tn = Math.min(QT, L - t0);
    const rows = Math.ceil((tn * group) / mul) * mul;
    const r0 = t0 * group;
    const sFirst = window > 0 ? Math.max(0, t0 - window + 1) : 0;
    for (let s0 = sFirst; s0 < t0 + tn; s0 += KT) {
      const sn = Math.min(KT, t0 + tn - s0);
      const sn4 = Math.ceil(sn / 4) * 4;
      gemm(qb + r0 * Dp, kh + s0 * Dp, sc, rows, sn4, Dp, Dp, Dp, KT, 0);
      softmaxStep(sc, KT, rows, sn, s0, lo + r0, hi + r0, m + r0, l + r0, acc + r0 * Dp, Dp);
      gemm(sc, vt + s0, acc + r0 * Dp, rows, Dp, sn4, KT, Lp, Dp, 1);
    }
  }
}

/**
 * Runs chunks of job `gen` until none is left or a newer job has begun; by the calling thread and every worker.
 * Self-contained, as attendHead.
 */
function runChunks(ctl: Int32Array, gemm: Gemm, softmaxStep: SoftmaxStep, attend: typeof attendHead, gen: number): void {
  const tag = gen & 0xffff;
  const s = 4 + 28 * (gen & 1);
  for (;;) {
    const v = Atomics.load(ctl, 1);
    if (v >>> 16 !== tag) return;
    const i = v & 0xffff;
    const chunks = ctl[s + 1]!;
    if (i >= chunks) return;
    if (Atomics.compareExchange(ctl, 1, v, v + 1) !== v) continue;
    const p = s + 2;
    if (ctl[s] === 1) attend(ctl, p, i, gemm, softmaxStep);
    else {
      // A product's arguments: a, b, c, M, N, K, lda, ldb, ldc, accumulate, columns per chunk.
      const c0 = i * ctl[p + 10]!;
      const n = Math.min(ctl[p + 10]!, ctl[p + 4]! - c0);
      gemm(ctl[p]!, ctl[p + 1]! + c0 * ctl[p + 7]!, ctl[p + 2]! + c0, ctl[p + 3]!, n, ctl[p + 5]!, ctl[p + 6]!, ctl[p + 7]!, ctl[p + 8]!, ctl[p + 9]!);
    }
    if (Atomics.add(ctl, 2, 1) + 1 === chunks) Atomics.notify(ctl, 2);
  }
}

/** A worker's life: its own instance of the kernels over the shared memory, then every job it is woken for. */
function workerLoop(memory: WebAssembly.Memory, bytes: Uint8Array<ArrayBuffer>, run: typeof runChunks, attend: typeof attendHead): void {
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  const ctl = new Int32Array(memory.buffer, 0, 64);
  let seen = Atomics.load(ctl, 0);
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    run(ctl, k.gemm as Gemm, k.softmaxStep as SoftmaxStep, attend, seen);
  }
}

// Below this many multiply-adds a product runs on the calling thread: waking a worker costs more than it saves.
const MIN_WORK = 1 << 20;
// Chunks per thread: finer than one each, so a thread another process slows down takes fewer.
const CHUNKS_PER_THREAD = 4;

/** The jobs a pool runs: gemm as the kernel's, attention of `heads` KV heads with attendHead's arguments. */
export interface Pool {
  gemm: Gemm;
  attend(args: number[], heads: number): void;
}

/**
 * A pool of `threads` threads (the caller and threads − 1 workers started here) over a shared memory whose first
 * CONTROL_INTS int32s are left to it.
 *
 * @example
 * const pool = threadPool(exports.gemm, exports.softmaxStep, memory, bytes, 2);
 */
export function threadPool(gemm: Gemm, softmaxStep: SoftmaxStep, memory: WebAssembly.Memory, bytes: Uint8Array<ArrayBuffer>, threads: number): Pool {
  const ctl = new Int32Array(memory.buffer, 0, CONTROL_INTS);
  const source = `require("node:worker_threads").parentPort.once("message", (m) => (${workerLoop})(m.memory, m.bytes, ${runChunks}, ${attendHead}));`;
  for (let w = 1; w < threads; w++) startWorker(source, { memory, bytes });
  let gen = 0;
  const run = (kind: number, chunks: number, args: number[]): void => {
    gen = (gen + 1) & 0x7fffffff;
    const s = 4 + SLOT * (gen & 1);
    ctl[s] = kind;
    ctl[s + 1] = chunks;
    ctl.set(args, s + 2);
    Atomics.store(ctl, 2, 0);
    Atomics.store(ctl, 1, (gen & 0xffff) << 16);
    Atomics.store(ctl, 0, gen);
    Atomics.notify(ctl, 0);
    runChunks(ctl, gemm, softmaxStep, attendHead, gen);
    for (let done = Atomics.load(ctl, 2); done < chunks; done = Atomics.load(ctl, 2)) Atomics.wait(ctl, 2, done);
  };
  return {
    gemm(a, b, c, M, N, K, lda, ldb, ldc, accumulate) {
      const panels = N / 4;
      if (M * N * K < MIN_WORK || panels < 2) return gemm(a, b, c, M, N, K, lda, ldb, ldc, accumulate);
      const cols = Math.ceil(panels / Math.min(panels, threads * CHUNKS_PER_THREAD)) * 4;
      run(0, Math.ceil(N / cols), [a, b, c, M, N, K, lda, ldb, ldc, accumulate, cols]);
    },
    attend: (args, heads) => run(1, heads, args),
  };
}
