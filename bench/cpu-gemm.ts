// The CPU pass's matrix product alone: x·Wᵀ through the SIMD kernel on the tiny model's MLP shape (1024 rows, 256 in,
// 768 out), billions of multiply-adds per CPU second (CPU time, so other work on the host does not count), best of 8.
// Run: node_modules/.bin/bun bench/cpu-gemm.ts   (or deno run -A bench/cpu-gemm.ts; node dist/bench/cpu-gemm.js)
import { runtimeName } from "../src/core/runtime.ts";
import { matmulT } from "../src/eval/cpu/matmul.ts";

const [rows, inDim, outDim] = [1024, 256, 768];
const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i));
const w = Float32Array.from({ length: outDim * inDim }, (_, i) => Math.cos(i));
const y = new Float32Array(rows * outDim);
let best = 0;
for (let rep = 0; rep < 8; rep++) {
  const c0 = process.cpuUsage();
  matmulT(x, w, rows, inDim, outDim, y);
  const d = process.cpuUsage(c0);
  best = Math.max(best, (rows * inDim * outDim) / ((d.user + d.system) / 1e6) / 1e9);
}
console.log(`${runtimeName()}: ${rows}×${inDim} · (${outDim}×${inDim})ᵀ: ${best.toFixed(1)} GMAC per CPU second (best of 8)`);
