// The CPU pass's WebAssembly SIMD kernels (f32x4): one matrix product A·Bᵀ for every linear layer, the LM head and
// both halves of attention, and attention's online-softmax step with a vectorised exp. Built from TypeScript by
// wasm-encoder.ts at first use; they work on one growable memory (the arena) that callers copy operands into, shared
// with worker threads (pool.ts) where there is more than one core.
import { CONTROL_INTS, parallelGemm } from "./pool.ts";
import { threadCount } from "./threads.ts";
import { encodeModule, F32, FunctionBody, I32, Op, Simd, V128 } from "./wasm-encoder.ts";

const COLS = 4;
// The K loop unrolled twice: measured ~5% faster than once, no better at four.
const UNROLL = 2;

/**
 * n rounded up to a multiple of m (the kernels' padding).
 *
 * @example
 * roundUp(13, 4); // 16
 */
export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * gemm(a, b, c, M, N, K, lda, ldb, ldc, accumulate): C[M×N] (+)= A[M×K] · B[N×K]ᵀ, float offsets and strides in
 * floats, M a multiple of `rowsPerStep`, N and K multiples of 4. That many rows of A against four rows of B per
 * step, f32x4 along K (rowsPerStep·4 accumulators), the four dot products of a row summed into one vector and stored
 * at once. Column panels outside, row blocks inside, so the panel of B stays in L1 while A streams by.
 */
function gemm(fma: boolean, rowsPerStep: number): FunctionBody {
  const rows = Array.from({ length: rowsPerStep }, (_, r) => r);
  const cols = Array.from({ length: COLS }, (_, c) => c);
  const locals: Record<string, typeof I32 | typeof V128> = { j: I32, i: I32, k: I32, bp: I32, ap: I32, cp: I32, kb: I32, s: V128, t: V128 };
  for (const r of rows) {
    locals[`a${r}`] = I32;
    locals[`x${r}`] = V128;
    for (const c of cols) locals[`acc${r}_${c}`] = V128;
  }
  for (const c of cols) {
    locals[`b${c}`] = I32;
    locals[`y${c}`] = V128;
  }
  const f = new FunctionBody(["a", "b", "c", "M", "N", "K", "lda", "ldb", "ldc", "accumulate"], locals);
  // Offsets and strides to bytes.
  for (const p of ["a", "b", "c", "lda", "ldb", "ldc"]) f.get(p).i32(2).op(Op.i32Shl).set(p);
  f.get("K").i32(2).op(Op.i32Shl).set("kb");
  f.forUp("j", () => f.i32(0), () => f.get("N"), COLS, () => {
    f.get("b").get("j").get("ldb").op(Op.i32Mul, Op.i32Add).set("bp");
    for (const c of cols) f.get("bp").i32(c).get("ldb").op(Op.i32Mul, Op.i32Add).set(`b${c}`);
    f.forUp("i", () => f.i32(0), () => f.get("M"), rowsPerStep, () => {
      f.get("a").get("i").get("lda").op(Op.i32Mul, Op.i32Add).set("ap");
      for (const r of rows) {
        f.get("ap").i32(r).get("lda").op(Op.i32Mul, Op.i32Add).set(`a${r}`);
        for (const c of cols) f.f32x4(0).set(`acc${r}_${c}`);
      }
      // Four floats of K at byte offset `offset` past k.
      const step = (offset: number): void => {
        for (const r of rows) f.get(`a${r}`).get("k").op(Op.i32Add).simdMem(Simd.load, 0, offset).set(`x${r}`);
        for (const c of cols) f.get(`b${c}`).get("k").op(Op.i32Add).simdMem(Simd.load, 0, offset).set(`y${c}`);
        for (const r of rows) {
          for (const c of cols) {
            if (fma) f.get(`x${r}`).get(`y${c}`).get(`acc${r}_${c}`).simd(Simd.f32x4RelaxedMadd);
            else f.get(`acc${r}_${c}`).get(`x${r}`).get(`y${c}`).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
            f.set(`acc${r}_${c}`);
          }
        }
      };
      // Unrolled UNROLL times (fewer loop branches and address adds), then the K % (4·UNROLL) left one step at a time.
      f.i32(0).set("k");
      f.forUp("k", () => f.get("k"), () => f.get("kb").i32(16 * (UNROLL - 1)).op(Op.i32Sub), 16 * UNROLL, () => {
        for (let u = 0; u < UNROLL; u++) step(16 * u);
      });
      f.forUp("k", () => f.get("k"), () => f.get("kb"), 16, () => step(0));
      for (const r of rows) {
        // [Σacc0, Σacc1, Σacc2, Σacc3] by two rounds of pairwise shuffles and adds.
        f.get(`acc${r}_0`).get(`acc${r}_1`).shuffle32([0, 4, 1, 5]).get(`acc${r}_0`).get(`acc${r}_1`).shuffle32([2, 6, 3, 7]).simd(Simd.f32x4Add).set("s");
        f.get(`acc${r}_2`).get(`acc${r}_3`).shuffle32([0, 4, 1, 5]).get(`acc${r}_2`).get(`acc${r}_3`).shuffle32([2, 6, 3, 7]).simd(Simd.f32x4Add).set("t");
        f.get("s").get("t").shuffle32([0, 1, 4, 5]).get("s").get("t").shuffle32([2, 3, 6, 7]).simd(Simd.f32x4Add).set("s");
        f.get("c").get("i").i32(r).op(Op.i32Add).get("ldc").op(Op.i32Mul, Op.i32Add).get("j").i32(2).op(Op.i32Shl, Op.i32Add).set("cp");
        f.when(() => f.get("accumulate"), () => f.get("s").get("cp").simdMem(Simd.load, 0).simd(Simd.f32x4Add).set("s"));
        f.get("cp").get("s").simdMem(Simd.store, 0);
      }
    });
  });
  return f;
}

/**
 * exp of the f32x4 in local `x` for x ≤ 0 (Cephes' expf: 2ⁿ · a degree-6 polynomial on the remainder, about one ulp),
 * left on the stack; below −87.3 (and −∞) it is 0. Clobbers x and the scratch local `n`.
 */
function exp(f: FunctionBody): void {
  const low = -87.33654;
  f.get("x").f32x4(low).simd(Simd.f32x4Max).set("n");
  // The result's mask (x ≥ low), kept on the stack under the computation.
  f.get("x").f32x4(low).simd(Simd.f32x4Ge);
  f.get("n").set("x");
  f.get("x").f32x4(1.44269504088896341).simd(Simd.f32x4Mul).simd(Simd.f32x4Nearest).set("n");
  f.get("x").get("n").f32x4(0.693359375).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub)
    .get("n").f32x4(-2.12194440e-4).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set("x");
  f.f32x4(1.9875691500e-4);
  for (const c of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
    f.get("x").simd(Simd.f32x4Mul).f32x4(c).simd(Simd.f32x4Add);
  }
  f.get("x").get("x").simd(Simd.f32x4Mul).simd(Simd.f32x4Mul).get("x").simd(Simd.f32x4Add).f32x4(1).simd(Simd.f32x4Add);
  // × 2ⁿ, built in the exponent bits.
  f.get("n").simd(Simd.i32x4TruncSatF32x4S).i32(127).simd(Simd.i32x4Splat).simd(Simd.i32x4Add).i32(23).simd(Simd.i32x4Shl).simd(Simd.f32x4Mul);
  f.simd(Simd.and);
}

/**
 * softmaxStep(sc, lds, nr, sn, s0, lo, hi, m, l, acc, ldacc): one key tile of the online softmax. Row r of the
 * scores sc (stride lds) holds query r against keys s0 … s0 + sn − 1; it may see keys lo[r] … hi[r]. Each row's
 * running maximum m[r] and sum l[r] take the tile in, its accumulator row (stride ldacc) is rescaled to the new
 * maximum, and the scores become the weights exp(s − m) (0 where masked) for the P·V product that follows.
 */
function softmaxStep(): FunctionBody {
  const f = new FunctionBody(["sc", "lds", "nr", "sn", "s0", "lo", "hi", "m", "l", "acc", "ldacc"], {
    r: I32, j: I32, j0: I32, j1: I32, sn4: I32, row: I32, arow: I32, mx: F32, mOld: F32, c: F32, x: V128, n: V128, v: V128,
  });
  for (const p of ["sc", "lo", "hi", "m", "l", "acc"]) f.get(p).i32(2).op(Op.i32Shl).set(p);
  f.get("sn").i32(3).op(Op.i32Add).i32(-4).op(Op.i32And).set("sn4");
  f.forUp("r", () => f.i32(0), () => f.get("nr"), 1, () => {
    f.get("sc").get("r").get("lds").op(Op.i32Mul).i32(2).op(Op.i32Shl, Op.i32Add).set("row");
    f.get("lo").get("r").i32(2).op(Op.i32Shl, Op.i32Add).mem(Op.i32Load, 2).get("s0").op(Op.i32Sub).set("j0");
    f.i32(0).get("j0").get("j0").i32(0).op(Op.i32LtS, Op.select).set("j0");
    f.get("hi").get("r").i32(2).op(Op.i32Shl, Op.i32Add).mem(Op.i32Load, 2).get("s0").op(Op.i32Sub).i32(1).op(Op.i32Add).set("j1");
    f.get("sn").get("j1").get("j1").get("sn").op(Op.i32GtS, Op.select).set("j1");
    const at = (j: string) => f.get("row").get(j).i32(2).op(Op.i32Shl, Op.i32Add);
    f.when(() => f.get("j1").get("j0").op(Op.i32LeS), () => {
      // Nothing visible in this tile: weights 0, the row's state unchanged.
      f.forUp("j", () => f.i32(0), () => f.get("sn4"), 4, () => at("j").f32x4(0).simdMem(Simd.store, 0));
    }, () => {
      f.forUp("j", () => f.i32(0), () => f.get("j0"), 1, () => at("j").f32(-Infinity).mem(Op.f32Store, 2));
      f.forUp("j", () => f.get("j1"), () => f.get("sn4"), 1, () => at("j").f32(-Infinity).mem(Op.f32Store, 2));
      f.f32x4(-Infinity).set("v");
      f.forUp("j", () => f.i32(0), () => f.get("sn4"), 4, () => {
        f.get("v");
        at("j").simdMem(Simd.load, 0).simd(Simd.f32x4Max).set("v");
      });
      f.get("v").get("v").get("v").shuffle32([2, 3, 0, 1]).simd(Simd.f32x4Max).set("v");
      f.get("v").get("v").get("v").shuffle32([1, 0, 3, 2]).simd(Simd.f32x4Max).simd(Simd.f32x4ExtractLane).lane(0).set("mx");
      f.get("m").get("r").i32(2).op(Op.i32Shl, Op.i32Add).mem(Op.f32Load, 2).tee("mOld").get("mx").op(Op.f32Max).set("mx");
      // c = exp(mOld − mx) rescales what the row gathered under the old maximum.
      f.get("mOld").get("mx").op(Op.f32Sub).simd(Simd.f32x4Splat).set("x");
      exp(f);
      f.simd(Simd.f32x4ExtractLane).lane(0).set("c");
      f.when(() => f.get("c").f32(1).op(Op.f32Ne), () => {
        f.get("acc").get("r").get("ldacc").op(Op.i32Mul).i32(2).op(Op.i32Shl, Op.i32Add).set("arow");
        f.forUp("j", () => f.i32(0), () => f.get("ldacc"), 4, () => {
          f.get("arow").get("j").i32(2).op(Op.i32Shl, Op.i32Add);
          f.get("arow").get("j").i32(2).op(Op.i32Shl, Op.i32Add).simdMem(Simd.load, 0).get("c").simd(Simd.f32x4Splat).simd(Simd.f32x4Mul);
          f.simdMem(Simd.store, 0);
        });
      });
      f.f32x4(0).set("v");
      f.forUp("j", () => f.i32(0), () => f.get("sn4"), 4, () => {
        at("j").simdMem(Simd.load, 0).get("mx").simd(Simd.f32x4Splat).simd(Simd.f32x4Sub).set("x");
        exp(f);
        f.set("x");
        at("j").get("x").simdMem(Simd.store, 0);
        f.get("v").get("x").simd(Simd.f32x4Add).set("v");
      });
      f.get("v").get("v").get("v").shuffle32([2, 3, 0, 1]).simd(Simd.f32x4Add).set("v");
      f.get("v").get("v").get("v").shuffle32([1, 0, 3, 2]).simd(Simd.f32x4Add).simd(Simd.f32x4ExtractLane).lane(0).set("mOld");
      f.get("l").get("r").i32(2).op(Op.i32Shl, Op.i32Add);
      f.get("l").get("r").i32(2).op(Op.i32Shl, Op.i32Add).mem(Op.f32Load, 2).get("c").op(Op.f32Mul).get("mOld").op(Op.f32Add);
      f.mem(Op.f32Store, 2);
      f.get("m").get("r").i32(2).op(Op.i32Shl, Op.i32Add).get("mx").mem(Op.f32Store, 2);
    });
  });
  return f;
}

interface Exports {
  gemm(a: number, b: number, c: number, M: number, N: number, K: number, lda: number, ldb: number, ldc: number, accumulate: number): void;
  softmaxStep(sc: number, lds: number, nr: number, sn: number, s0: number, lo: number, hi: number, m: number, l: number, acc: number, ldacc: number): void;
}

/** The instantiated kernels and their memory, with float-indexed views that follow the memory as it grows. */
export interface Kernels extends Exports {
  /** Rows of A per micro-kernel step: callers pad M to a multiple of this (and N and K to multiples of 4). */
  rows: number;
  /** Threads a large product is split over (the cores; 1 where the runtime has no workers). */
  threads: number;
  f32: Float32Array;
  i32: Int32Array;
  /**
   * Lays out regions of the given sizes (floats) one after another, each 16-byte aligned, grows the memory to hold
   * them, and returns their float offsets. Everything laid out before is forgotten (one caller at a time).
   */
  layout(...sizes: number[]): number[];
}

let kernels: Kernels | undefined;

/**
 * The kernels, compiled on first use (synchronously: the module is a few kilobytes).
 *
 * @example
 * const k = simdKernels();
 * const [a, b, c] = k.layout(2 * 4, 4 * 4, 2 * 4);
 * k.gemm(a, b, c, 2, 4, 4, 4, 4, 4, 0);
 */
export function simdKernels(): Kernels {
  if (kernels) return kernels;
  const threads = threadCount();
  // A shared memory must declare its maximum: wasm32's 4 GiB, as an unshared one has.
  const maxPages = threads > 1 ? 65536 : 0;
  const memory = new WebAssembly.Memory(maxPages ? { initial: 16, maximum: maxPages, shared: true } : { initial: 16 });
  // Relaxed SIMD's fused multiply-add and two rows per step where the engine has relaxed SIMD (Bun, Deno, Node ≥ 22):
  // ~22 GMAC/s there against ~19 for one row. Node 20's older V8 has no relaxed SIMD and spills two rows' eight
  // accumulators: one row with plain f32x4 mul + add, ~18 GMAC/s against ~14.5 (CPU time, 1020×256 · 256×768, measured
  // while choosing; bench/cpu-gemm.ts measures the chosen kernel).
  let rows = 2;
  let bytes = encodeModule({ gemm: gemm(true, rows), softmaxStep: softmaxStep() }, maxPages);
  if (!WebAssembly.validate(bytes)) {
    rows = 1;
    bytes = encodeModule({ gemm: gemm(false, rows), softmaxStep: softmaxStep() }, maxPages);
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const exports = instance.exports as unknown as Exports;
  const k: Kernels = {
    rows,
    threads,
    gemm: threads > 1 ? parallelGemm(exports.gemm, memory, bytes, threads) : exports.gemm,
    softmaxStep: exports.softmaxStep,
    f32: new Float32Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
    layout(...sizes) {
      const offsets: number[] = [];
      // The threads' control block comes first.
      let end = CONTROL_INTS;
      for (const s of sizes) {
        offsets.push(end);
        end += Math.ceil(s / 4) * 4;
      }
      const bytes = end * 4;
      if (bytes > memory.buffer.byteLength) {
        memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
        k.f32 = new Float32Array(memory.buffer);
        k.i32 = new Int32Array(memory.buffer);
      }
      return offsets;
    },
  };
  kernels = k;
  return k;
}
