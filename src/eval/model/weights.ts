// A checkpoint's tensors as the forward pass wants them: float32, transformers' [out, in] layout and rotate-half
// Q/K order, fused tensors split, Gemma's (1 + w) norms as the multiplier itself, every shape checked against the
// config. Read per layer, so the real-weights probe can take two layers' attention without the rest.
import { ModelFormatError } from "../../core/errors.ts";
import type { Checkpoint } from "./checkpoint.ts";
import type { LayerTensor } from "./tensor-names.ts";
import type { ModelShape } from "./model-shape.ts";

export interface AttentionWeights {
  attnNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  attnPostNorm?: Float32Array;
}

export interface MlpWeights {
  mlpNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
  mlpPostNorm?: Float32Array;
}

export interface LayerWeights extends AttentionWeights, MlpWeights {}

export interface ModelWeights {
  shape: ModelShape;
  embed: Float32Array;
  layers: LayerWeights[];
  norm: Float32Array;
  /** The embedding itself when tied. */
  lmHead: Float32Array;
  /** Stored element type of most tensors, for reports. */
  dtype: string;
}

/** One tensor, its shape checked; `what` says which part of the model it is, for the error line. */
async function tensor(ck: Checkpoint, name: string, shape: readonly number[], what: string): Promise<Float32Array> {
  if (!ck.source.has(name)) throw new ModelFormatError(ck.path, `tensor ${name} is missing (${what})`);
  const got = ck.source.shape(name);
  if (got.join(",") !== shape.join(",")) throw new ModelFormatError(ck.path, `tensor ${name} has shape [${got}], the ${ck.configName} implies [${shape}] (${what})`);
  return ck.source.read(name);
}

/** Gemma's config.json norms hold w for a (1 + w) multiplier; llama.cpp's converter already stored w + 1. */
function norm(ck: Checkpoint, w: Float32Array): Float32Array {
  return ck.normPlusOne ? w.map((x) => Math.fround(x + 1)) : w;
}

/** Rows [heads·d, width] from llama.cpp's interleaved pairs (2j, 2j+1) back to rotate-half (j, j + d/2). */
export function deinterleaveHeads(w: Float32Array, heads: number, d: number, width: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < d / 2; j++) {
      for (const half of [0, 1]) {
        const from = (h * d + 2 * j + half) * width;
        out.set(w.subarray(from, from + width), (h * d + half * (d / 2) + j) * width);
      }
    }
  }
  return out;
}

/** Rows [from, to) of a row-major matrix `width` wide. */
const rowSlice = (w: Float32Array, from: number, to: number, width: number) => w.slice(from * width, to * width);

/**
 * Layer `i`'s attention tensors (norms, projections, biases, head norms).
 *
 * @example
 * const { q, k, attnNorm } = await readAttention(ck, 0);
 */
export async function readAttention(ck: Checkpoint, i: number): Promise<AttentionWeights> {
  const s = ck.shape;
  const f = s.family;
  const { hidden: H, heads, kvHeads, headDim: D } = s;
  const name = (t: LayerTensor | "qkv") => ck.names.layer(i, t);
  const get = (t: LayerTensor, shape: readonly number[]) => tensor(ck, name(t), shape, `layer ${i} ${t}`);
  let q: Float32Array, k: Float32Array, v: Float32Array;
  if (!ck.source.has(name("q")) && ck.source.has(name("qkv"))) {
    const qkv = await tensor(ck, name("qkv"), [(heads + 2 * kvHeads) * D, H], `layer ${i} fused q/k/v`);
    q = rowSlice(qkv, 0, heads * D, H);
    k = rowSlice(qkv, heads * D, (heads + kvHeads) * D, H);
    v = rowSlice(qkv, (heads + kvHeads) * D, (heads + 2 * kvHeads) * D, H);
  } else {
    [q, k, v] = await Promise.all([get("q", [heads * D, H]), get("k", [kvHeads * D, H]), get("v", [kvHeads * D, H])]);
  }
  const out: AttentionWeights = { attnNorm: norm(ck, await get("attnNorm", [H])), q, k, v, o: await get("o", [H, heads * D]) };
  if (f.qkvBias) {
    out.qBias = await get("qBias", [heads * D]);
    out.kBias = await get("kBias", [kvHeads * D]);
    out.vBias = await get("vBias", [kvHeads * D]);
  }
  if (ck.interleavedQk) {
    out.q = deinterleaveHeads(out.q, heads, D, H);
    out.k = deinterleaveHeads(out.k, kvHeads, D, H);
    if (out.qBias) out.qBias = deinterleaveHeads(out.qBias, heads, D, 1);
    if (out.kBias) out.kBias = deinterleaveHeads(out.kBias, kvHeads, D, 1);
  }
  if (f.qkNorm) {
    out.qNorm = norm(ck, await get("qNorm", [D]));
    out.kNorm = norm(ck, await get("kNorm", [D]));
  }
  if (f.sandwichNorms) out.attnPostNorm = norm(ck, await get("attnPostNorm", [H]));
  return out;
}

/**
 * Layer `i`'s MLP tensors (pre-norm, gate, up, down, Gemma's post-norm).
 *
 * @example
 * const { gate, up, down } = await readMlp(ck, 0);
 */
export async function readMlp(ck: Checkpoint, i: number): Promise<MlpWeights> {
  const { hidden: H, intermediate: I, family } = ck.shape;
  const get = (t: LayerTensor, shape: readonly number[]) => tensor(ck, ck.names.layer(i, t), shape, `layer ${i} ${t}`);
  let gate: Float32Array, up: Float32Array;
  const fused = ck.names.layer(i, "gateUp");
  if (!ck.source.has(ck.names.layer(i, "gate")) && ck.source.has(fused)) {
    const both = await tensor(ck, fused, [2 * I, H], `layer ${i} fused gate/up`);
    gate = rowSlice(both, 0, I, H);
    up = rowSlice(both, I, 2 * I, H);
  } else {
    [gate, up] = await Promise.all([get("gate", [I, H]), get("up", [I, H])]);
  }
  const out: MlpWeights = { mlpNorm: norm(ck, await get("mlpNorm", [H])), gate, up, down: await get("down", [H, I]) };
  if (family.sandwichNorms) out.mlpPostNorm = norm(ck, await get("mlpPostNorm", [H]));
  return out;
}

/**
 * Every tensor of the checkpoint, for the forward pass (quantized types dequantized here, on load).
 *
 * @example
 * const w = await loadWeights(await openCheckpoint("./model"));
 */
export async function loadWeights(ck: Checkpoint): Promise<ModelWeights> {
  const { hidden: H, vocab: V } = ck.shape;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < ck.shape.layers.length; i++) layers.push({ ...(await readAttention(ck, i)), ...(await readMlp(ck, i)) });
  const embed = await tensor(ck, ck.names.embed, [V, H], "token embeddings");
  const lmHead = ck.source.has(ck.names.lmHead) ? await tensor(ck, ck.names.lmHead, [V, H], "LM head") : embed;
  return { shape: ck.shape, embed, layers, norm: norm(ck, await tensor(ck, ck.names.norm, [H], "final norm")), lmHead, dtype: ck.dtype };
}
