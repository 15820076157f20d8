// The Llama forward pass on the CPU in float32 (the reference the WebGPU path is checked against).
import type { LlamaWeights } from "../llama-weights.ts";
import type { ForwardBackend, NllRequest } from "../backend.ts";
import { matmulT } from "./matmul.ts";
import { applyRope, causalAttention, nllOfRow, rmsNorm, ropeTables } from "./ops.ts";

// Logits are made this many rows at a time so a long window never holds [length, vocab] at once.
const LOGIT_ROWS = 64;

export function nllCpu(w: LlamaWeights, req: NllRequest): Float64Array {
  const c = w.config;
  const L = req.tokens.length;
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V, eps } = c;
  const QD = heads * D, KD = kvHeads * D;
  const x = new Float32Array(L * H);
  for (let t = 0; t < L; t++) {
    const id = req.tokens[t]!;
    if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    x.set(w.embed.subarray(id * H, (id + 1) * H), t * H);
  }
  const { cos, sin } = ropeTables(req.rope, L);
  const h = new Float32Array(L * H);
  const q = new Float32Array(L * QD), k = new Float32Array(L * KD), v = new Float32Array(L * KD);
  const att = new Float32Array(L * QD), proj = new Float32Array(L * H);
  const g = new Float32Array(L * I), u = new Float32Array(L * I);
  for (const layer of w.layers) {
    rmsNorm(x, layer.inputNorm, L, H, eps, h);
    matmulT(h, layer.q, L, H, QD, q);
    matmulT(h, layer.k, L, H, KD, k);
    matmulT(h, layer.v, L, H, KD, v);
    applyRope(q, L, heads, D, cos, sin);
    applyRope(k, L, kvHeads, D, cos, sin);
    causalAttention(q, k, v, L, heads, kvHeads, D, att);
    matmulT(att, layer.o, L, QD, H, proj);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + proj[i]!;
    rmsNorm(x, layer.postNorm, L, H, eps, h);
    matmulT(h, layer.gate, L, H, I, g);
    matmulT(h, layer.up, L, H, I, u);
    for (let i = 0; i < g.length; i++) {
      const a = g[i]!;
      g[i] = (a / (1 + Math.exp(-a))) * u[i]!;
    }
    matmulT(g, layer.down, L, I, H, proj);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + proj[i]!;
  }
  rmsNorm(x, w.norm, L, H, eps, h);
  if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
  const first = req.firstTarget;
  const out = new Float64Array(L - req.firstTarget);
  const logits = new Float32Array(LOGIT_ROWS * V);
  // Row t's logits predict token t + 1.
  for (let t0 = first - 1; t0 < L - 1; t0 += LOGIT_ROWS) {
    const rows = Math.min(LOGIT_ROWS, L - 1 - t0);
    matmulT(h.subarray(t0 * H, (t0 + rows) * H), w.lmHead, rows, H, V, logits);
    for (let r = 0; r < rows; r++) out[t0 + 1 + r - req.firstTarget] = nllOfRow(logits, r * V, V, req.tokens[t0 + 1 + r]!);
  }
  return out;
}

export function cpuBackend(w: LlamaWeights): ForwardBackend {
  return {
    name: "cpu",
    nll: async (req) => nllCpu(w, req),
    release() {},
  };
}
