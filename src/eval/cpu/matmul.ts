// y = x · Wᵀ for a linear layer stored as transformers does ([out, in], row-major), float32, through the SIMD
// kernel: W and x are copied into the kernels' memory in blocks (a copy is a memcpy, the product is `in` times the
// work), padded with zeros to the kernel's multiples.
import { roundUp, simdKernels } from "./simd.ts";

// A block of W at most this many floats (4 MiB) is copied at once, so a large LM head never doubles in memory.
const W_BLOCK = 1 << 20;
// Rows of x per kernel call: a chunk of ~128 KiB stays in L2 while every panel of W passes it.
const X_BLOCK = 1 << 15;

/** Copies `rows` rows of `dim` floats from src (at element `from`) into the heap at `to` with row stride `stride`. */
function copyRows(src: Float32Array, from: number, rows: number, dim: number, heap: Float32Array, to: number, stride: number): void {
  if (stride === dim) {
    heap.set(src.subarray(from, from + rows * dim), to);
    return;
  }
  for (let r = 0; r < rows; r++) heap.set(src.subarray(from + r * dim, from + (r + 1) * dim), to + r * stride);
}

/**
 * y[rows, outDim] = x[rows, inDim] · W[outDim, inDim]ᵀ.
 *
 * @example
 * matmulT(h, layer.q, L, hidden, heads * headDim, q);
 */
export function matmulT(x: Float32Array, w: Float32Array, rows: number, inDim: number, outDim: number, y: Float32Array): void {
  const k = simdKernels();
  const K = roundUp(inDim, 4);
  const nBlock = Math.min(roundUp(outDim, 4), Math.max(4, Math.floor(W_BLOCK / K / 4) * 4));
  const mBlock = Math.min(roundUp(rows, k.rows), Math.max(k.rows, Math.floor(X_BLOCK / K / k.rows) * k.rows));
  const [wp, xp, yp] = k.layout(nBlock * K, mBlock * K, mBlock * nBlock);
  // Padding must be zeros, not stale values that could be NaN: columns past inDim here, rows past the last below.
  if (K !== inDim) k.f32.fill(0, wp!, yp!);
  for (let n0 = 0; n0 < outDim; n0 += nBlock) {
    const nb = Math.min(nBlock, outDim - n0);
    const nbp = roundUp(nb, 4);
    if (nb < nBlock) k.f32.fill(0, wp!, wp! + nBlock * K);
    copyRows(w, n0 * inDim, nb, inDim, k.f32, wp!, K);
    for (let t0 = 0; t0 < rows; t0 += mBlock) {
      const mb = Math.min(mBlock, rows - t0);
      if (mb < mBlock) k.f32.fill(0, xp! + mb * K, xp! + mBlock * K);
      copyRows(x, t0 * inDim, mb, inDim, k.f32, xp!, K);
      k.gemm(xp!, wp!, yp!, roundUp(mb, k.rows), nbp, K, K, K, nbp, 0);
      if (nbp === outDim) y.set(k.f32.subarray(yp!, yp! + mb * outDim), t0 * outDim);
      else for (let r = 0; r < mb; r++) y.set(k.f32.subarray(yp! + r * nbp, yp! + r * nbp + nb), (t0 + r) * outDim + n0);
    }
  }
}
