// The decoder forward pass on the CPU in float32 (the reference the WebGPU path is checked against): one pass for
// every family, its differences read from the family's switches (model/families.ts) and the model's shape.
import type { ModelWeights, LayerWeights } from "../model/weights.ts";
import type { ModelShape } from "../model/model-shape.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import type { ForwardBackend, NllRequest, OnLogitRows } from "../backend.ts";
import { matmulT } from "./matmul.ts";
import { addBias, applyRope, causalAttention, gatedActivation, nllOfRow, rmsNorm, ropeTables } from "./ops.ts";

// Logits are made in blocks of rows so a long window never holds [length, vocab] at once: 4 MiB of them (at least 64
// rows), since each block copies the LM head into the kernels' memory again.
const logitRows = (vocab: number): number => Math.max(64, Math.floor(2 ** 20 / vocab));

/** The activations of the rows being run, reused from layer to layer. */
interface Buffers {
  x: Float32Array;
  h: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  proj: Float32Array;
  g: Float32Array;
  u: Float32Array;
}

function buffers(s: ModelShape, rows: number): Buffers {
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I } = s;
  return {
    x: new Float32Array(rows * H), h: new Float32Array(rows * H),
    q: new Float32Array(rows * heads * D), k: new Float32Array(rows * kvHeads * D), v: new Float32Array(rows * kvHeads * D),
    att: new Float32Array(rows * heads * D), proj: new Float32Array(rows * H), g: new Float32Array(rows * I), u: new Float32Array(rows * I),
  };
}

type Tables = Record<"global" | "local", { cos: Float32Array; sin: Float32Array }>;

function tables(s: ModelShape, rope: RopeFrequencies, positions: number): Tables {
  const global = ropeTables(rope, positions);
  return { global, local: s.localRope ? ropeTables(s.localRope, positions) : global };
}

/**
 * Where a layer's rotated keys and values live, [positions, kvHeads·headDim] each: the layer's K/V cache when
 * decoding, the rows' own k and v buffers in a one-shot pass (then `past` is 0).
 */
interface LayerKv {
  k: Float32Array;
  v: Float32Array;
}

/** Runs L new tokens at positions past.. through one layer's attention, their K and V stored into kv first. */
function attentionBlock(s: ModelShape, l: LayerWeights, layer: number, L: number, past: number, b: Buffers, rope: Tables, kv: LayerKv): void {
  const { hidden: H, heads, kvHeads, headDim: D, eps } = s;
  rmsNorm(b.x, l.attnNorm, L, H, eps, b.h);
  matmulT(b.h, l.q, L, H, heads * D, b.q);
  matmulT(b.h, l.k, L, H, kvHeads * D, b.k);
  matmulT(b.h, l.v, L, H, kvHeads * D, b.v);
  if (l.qBias) addBias(b.q, l.qBias);
  if (l.kBias) addBias(b.k, l.kBias);
  if (l.vBias) addBias(b.v, l.vBias);
  if (l.qNorm) rmsNorm(b.q, l.qNorm, L * heads, D, eps, b.q);
  if (l.kNorm) rmsNorm(b.k, l.kNorm, L * kvHeads, D, eps, b.k);
  const { cos, sin } = rope[s.layers[layer]!.rope];
  const half = s.rotaryDim / 2;
  const at = (t: Float32Array) => t.subarray(past * half, (past + L) * half);
  applyRope(b.q, L, heads, D, at(cos), at(sin), s.rotaryDim);
  applyRope(b.k, L, kvHeads, D, at(cos), at(sin), s.rotaryDim);
  if (kv.k !== b.k) {
    kv.k.set(b.k, past * kvHeads * D);
    kv.v.set(b.v, past * kvHeads * D);
  }
  const shape = { rows: L, heads, kvHeads, headDim: D, scale: s.attentionScale, window: s.layers[layer]!.window };
  causalAttention(b.q, kv.k, kv.v, shape, b.att, past);
  matmulT(b.att, l.o, L, heads * D, H, b.proj);
  residual(b, l.attnPostNorm, L, s);
}

function mlpBlock(s: ModelShape, l: LayerWeights, L: number, b: Buffers): void {
  const { hidden: H, intermediate: I, eps } = s;
  rmsNorm(b.x, l.mlpNorm, L, H, eps, b.h);
  matmulT(b.h, l.gate, L, H, I, b.g);
  matmulT(b.h, l.up, L, H, I, b.u);
  gatedActivation(b.g, b.u, s.family.activation);
  matmulT(b.g, l.down, L, I, H, b.proj);
  residual(b, l.mlpPostNorm, L, s);
}

/** x += proj, through Gemma's post-norm when the family has one. */
function residual(b: Buffers, postNorm: Float32Array | undefined, L: number, s: ModelShape): void {
  if (postNorm) rmsNorm(b.proj, postNorm, L, s.hidden, s.eps, b.proj);
  for (let i = 0; i < b.x.length; i++) b.x[i] = b.x[i]! + b.proj[i]!;
}

/**
 * The final-normed hidden states [rows, hidden] of `tokens` at positions past..: every layer's attention reads
 * its keys and values from `kvOf(layer)` (after storing the new rows' there), or from the rows alone.
 */
function finalHidden(w: ModelWeights, tokens: Int32Array, past: number, rope: Tables, kvOf?: (layer: number) => LayerKv): Float32Array {
  const s = w.shape;
  const L = tokens.length;
  const { hidden: H, vocab: V } = s;
  const b = buffers(s, L);
  for (let t = 0; t < L; t++) {
    const id = tokens[t]!;
    if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    for (let i = 0; i < H; i++) b.x[t * H + i] = w.embed[id * H + i]! * s.embedScale;
  }
  w.layers.forEach((l, i) => {
    attentionBlock(s, l, i, L, past, b, rope, kvOf?.(i) ?? { k: b.k, v: b.v });
    mlpBlock(s, l, L, b);
  });
  rmsNorm(b.x, w.norm, L, H, s.eps, b.h);
  return b.h;
}

/**
 * Calls `onRows` with the logits of rows [first, L) of one window, a block of rows at a time (row t predicts
 * token t + 1): next-token distributions without ever holding [L, vocab] at once. The buffer is reused between calls.
 *
 * @example
 * logitRowsCpu(weights, tokens, rope, tokens.length - 1, (row, count, logits) => console.log(row, logits[0]));
 */
export function logitRowsCpu(
  w: ModelWeights, tokens: Int32Array, rope: RopeFrequencies, first: number,
  onRows: OnLogitRows,
): void {
  const L = tokens.length;
  const { hidden: H, vocab: V } = w.shape;
  if (!(first >= 0 && first < L)) throw new RangeError(`first row ${first} outside [0, ${L})`);
  const h = finalHidden(w, tokens, 0, tables(w.shape, rope, L));
  const block = logitRows(V);
  const logits = new Float32Array(block * V);
  for (let t0 = first; t0 < L; t0 += block) {
    const rows = Math.min(block, L - t0);
    matmulT(h.subarray(t0 * H, (t0 + rows) * H), w.lmHead, rows, H, V, logits);
    onRows(t0, rows, logits);
  }
}

/**
 * A decoding session on the CPU: a float32 K/V cache per layer sized to `capacity`, keys rotated at their absolute
 * positions; each append runs only its new rows and returns the last one's logits.
 *
 * @example
 * const session = decoderCpu(weights, modelRopeFor(ck.rope, "yarn", 512), 512);
 * let logits = session.append(prompt);
 * logits = session.append(Int32Array.of(argmax(logits)));
 */
export function decoderCpu(w: ModelWeights, rope: RopeFrequencies, capacity: number): { readonly length: number; append(tokens: Int32Array): Float32Array } {
  const s = w.shape;
  if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity ${capacity} is not a whole number ≥ 1`);
  const width = s.kvHeads * s.headDim;
  const cache = s.layers.map(() => ({ k: new Float32Array(capacity * width), v: new Float32Array(capacity * width) }));
  const rt = tables(s, rope, capacity);
  let length = 0;
  return {
    get length() {
      return length;
    },
    append(tokens) {
      const n = tokens.length;
      if (n === 0 || length + n > capacity) throw new RangeError(`${n} tokens after ${length} do not fit the cache (${capacity}) or are none`);
      const h = finalHidden(w, tokens, length, rt, (layer) => cache[layer]!);
      length += n;
      const logits = new Float32Array(s.vocab);
      matmulT(h.subarray((n - 1) * s.hidden), w.lmHead, 1, s.hidden, s.vocab, logits);
      return logits;
    },
  };
}

/**
 * NLL(tokens[i] | tokens[..i]) for i in [firstTarget, length), float32 activations, double accumulation.
 *
 * @example
 * const nll = nllCpu(weights, { tokens, rope: modelRopeFor(ck.rope, "none", tokens.length), firstTarget: 1 });
 */
export function nllCpu(w: ModelWeights, req: NllRequest): Float64Array {
  const L = req.tokens.length;
  const V = w.shape.vocab;
  if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
  const out = new Float64Array(L - req.firstTarget);
  // The last row predicts nothing in the window, so rows stop at L - 2; row t's logits predict token t + 1.
  logitRowsCpu(w, req.tokens.subarray(0, L), req.rope, req.firstTarget - 1, (t0, rows, logits) => {
    for (let r = 0; r < rows && t0 + r < L - 1; r++) out[t0 + 1 + r - req.firstTarget] = nllOfRow(logits, r * V, V, req.tokens[t0 + 1 + r]!);
  });
  return out;
}

/**
 * The CPU as a ForwardBackend.
 *
 * @example
 * const backend = cpuBackend(await loadWeights(ck));
 */
export function cpuBackend(w: ModelWeights): ForwardBackend {
  return {
    name: "cpu",
    nll: async (req) => nllCpu(w, req),
    logitRows: async (req, onRows) => logitRowsCpu(w, req.tokens, req.rope, req.firstRow, onRows),
    async decoder(rope, capacity) {
      const session = decoderCpu(w, rope, capacity);
      return {
        get length() {
          return session.length;
        },
        append: async (tokens) => session.append(tokens),
        release() {},
      };
    },
    release() {},
  };
}
