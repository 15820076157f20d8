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

/** A stored tensor the pass needs: its name in the file, the shape the config implies, and what it is (for errors). */
interface Stored {
  name: string;
  shape: readonly number[];
  what: string;
}

/** Why a stored tensor cannot be used: absent, of another shape than the config implies, or not decodable. */
function checkTensor(ck: Checkpoint, t: Stored): void {
  if (!ck.source.has(t.name)) throw new ModelFormatError(ck.path, `tensor ${t.name} is missing (${t.what})`);
  const got = ck.source.shape(t.name);
  if (got.join(",") !== t.shape.join(",")) throw new ModelFormatError(ck.path, `tensor ${t.name} has shape [${got}], the ${ck.configName} implies [${t.shape}] (${t.what})`);
  const problem = ck.source.problem(t.name);
  if (problem) throw new ModelFormatError(ck.path, problem);
}

async function tensor(ck: Checkpoint, t: Stored): Promise<Float32Array> {
  checkTensor(ck, t);
  return ck.source.read(t.name);
}

/** Gemma's config.json norms hold w for a (1 + w) multiplier; llama.cpp's converter already stored w + 1. */
function norm(ck: Checkpoint, w: Float32Array): Float32Array {
  return ck.normPlusOne ? w.map((x) => Math.fround(x + 1)) : w;
}

/** Rows [heads·d, width] from llama.cpp's interleaved pairs (2j, 2j+1) back to rotate-half (j, j + d/2). */
function deinterleaveHeads(w: Float32Array, heads: number, d: number, width: number): Float32Array {
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

/** Where layer `i`'s attention tensors are stored: Q/K/V separate or fused (Phi-3), and the family's extras. */
function attentionStored(ck: Checkpoint, i: number) {
  const { hidden: H, heads, kvHeads, headDim: D, family: f } = ck.shape;
  const at = (t: LayerTensor | "qkv", shape: readonly number[]): Stored => ({ name: ck.names.layer(i, t), shape, what: `layer ${i} ${t}` });
  const fused = !ck.source.has(ck.names.layer(i, "q")) && ck.source.has(ck.names.layer(i, "qkv"));
  return {
    attnNorm: at("attnNorm", [H]),
    projections: fused
      ? ({ qkv: at("qkv", [(heads + 2 * kvHeads) * D, H]) } as { qkv: Stored })
      : ({ q: at("q", [heads * D, H]), k: at("k", [kvHeads * D, H]), v: at("v", [kvHeads * D, H]) } as { q: Stored; k: Stored; v: Stored }),
    o: at("o", [H, heads * D]),
    biases: f.qkvBias ? { qBias: at("qBias", [heads * D]), kBias: at("kBias", [kvHeads * D]), vBias: at("vBias", [kvHeads * D]) } : undefined,
    headNorms: f.qkNorm ? { qNorm: at("qNorm", [D]), kNorm: at("kNorm", [D]) } : undefined,
    attnPostNorm: f.sandwichNorms ? at("attnPostNorm", [H]) : undefined,
  };
}

/** Where layer `i`'s MLP tensors are stored: gate and up separate or fused (Phi-3), Gemma's post-norm. */
function mlpStored(ck: Checkpoint, i: number) {
  const { hidden: H, intermediate: I, family } = ck.shape;
  const at = (t: LayerTensor | "gateUp", shape: readonly number[]): Stored => ({ name: ck.names.layer(i, t), shape, what: `layer ${i} ${t}` });
  const fused = !ck.source.has(ck.names.layer(i, "gate")) && ck.source.has(ck.names.layer(i, "gateUp"));
  return {
    mlpNorm: at("mlpNorm", [H]),
    gateUp: fused ? ({ gateUp: at("gateUp", [2 * I, H]) } as { gateUp: Stored }) : ({ gate: at("gate", [I, H]), up: at("up", [I, H]) } as { gate: Stored; up: Stored }),
    down: at("down", [H, I]),
    mlpPostNorm: family.sandwichNorms ? at("mlpPostNorm", [H]) : undefined,
  };
}

/** The embedding, final norm and (untied) LM head. */
function modelStored(ck: Checkpoint) {
  const { hidden: H, vocab: V } = ck.shape;
  return {
    embed: { name: ck.names.embed, shape: [V, H], what: "token embeddings" },
    norm: { name: ck.names.norm, shape: [H], what: "final norm" },
    lmHead: ck.source.has(ck.names.lmHead) ? { name: ck.names.lmHead, shape: [V, H], what: "LM head" } : undefined,
  };
}

/** Every stored tensor of a plan object, nested groups included. */
function storedOf(plan: object): Stored[] {
  return Object.values(plan).flatMap((v) => (v === undefined ? [] : "name" in v ? [v as Stored] : storedOf(v as object)));
}

/**
 * Checks, without reading any tensor data, that the checkpoint holds every tensor the forward pass needs, in the
 * shapes the config implies and in types the reader decodes: a bad model fails before anything is computed or written.
 *
 * @example
 * checkWeights(await openCheckpoint("model.gguf")); // throws ModelFormatError naming the file and the tensor
 */
export function checkWeights(ck: Checkpoint): void {
  const all = [modelStored(ck), ...ck.shape.layers.flatMap((_, i) => [attentionStored(ck, i), mlpStored(ck, i)])];
  for (const t of all.flatMap(storedOf)) checkTensor(ck, t);
}

/**
 * Layer `i`'s attention tensors (norms, projections, biases, head norms).
 *
 * @example
 * const { q, k, attnNorm } = await readAttention(ck, 0);
 */
export async function readAttention(ck: Checkpoint, i: number): Promise<AttentionWeights> {
  const { hidden: H, heads, kvHeads, headDim: D } = ck.shape;
  const st = attentionStored(ck, i);
  let q: Float32Array, k: Float32Array, v: Float32Array;
  if ("qkv" in st.projections) {
    const qkv = await tensor(ck, st.projections.qkv);
    q = rowSlice(qkv, 0, heads * D, H);
    k = rowSlice(qkv, heads * D, (heads + kvHeads) * D, H);
    v = rowSlice(qkv, (heads + kvHeads) * D, (heads + 2 * kvHeads) * D, H);
  } else {
    [q, k, v] = await Promise.all([tensor(ck, st.projections.q), tensor(ck, st.projections.k), tensor(ck, st.projections.v)]);
  }
  const out: AttentionWeights = { attnNorm: norm(ck, await tensor(ck, st.attnNorm)), q, k, v, o: await tensor(ck, st.o) };
  if (st.biases) {
    out.qBias = await tensor(ck, st.biases.qBias);
    out.kBias = await tensor(ck, st.biases.kBias);
    out.vBias = await tensor(ck, st.biases.vBias);
  }
  if (ck.interleavedQk) {
    out.q = deinterleaveHeads(out.q, heads, D, H);
    out.k = deinterleaveHeads(out.k, kvHeads, D, H);
    if (out.qBias) out.qBias = deinterleaveHeads(out.qBias, heads, D, 1);
    if (out.kBias) out.kBias = deinterleaveHeads(out.kBias, kvHeads, D, 1);
  }
  if (st.headNorms) {
    out.qNorm = norm(ck, await tensor(ck, st.headNorms.qNorm));
    out.kNorm = norm(ck, await tensor(ck, st.headNorms.kNorm));
  }
  if (st.attnPostNorm) out.attnPostNorm = norm(ck, await tensor(ck, st.attnPostNorm));
  return out;
}

/**
 * Layer `i`'s MLP tensors (pre-norm, gate, up, down, Gemma's post-norm).
 *
 * @example
 * const { gate, up, down } = await readMlp(ck, 0);
 */
export async function readMlp(ck: Checkpoint, i: number): Promise<MlpWeights> {
  const { hidden: H, intermediate: I } = ck.shape;
  const st = mlpStored(ck, i);
  let gate: Float32Array, up: Float32Array;
  if ("gateUp" in st.gateUp) {
    const both = await tensor(ck, st.gateUp.gateUp);
    gate = rowSlice(both, 0, I, H);
    up = rowSlice(both, I, 2 * I, H);
  } else {
    [gate, up] = await Promise.all([tensor(ck, st.gateUp.gate), tensor(ck, st.gateUp.up)]);
  }
  const out: MlpWeights = { mlpNorm: norm(ck, await tensor(ck, st.mlpNorm)), gate, up, down: await tensor(ck, st.down) };
  if (st.mlpPostNorm) out.mlpPostNorm = norm(ck, await tensor(ck, st.mlpPostNorm));
  return out;
}

/**
 * A model's weights read on demand, a layer at a time: the WebGPU pass uploads (or streams) from it holding at most
 * one layer in host memory.
 */
export interface WeightSource {
  shape: ModelShape;
  /** Stored element type of most tensors, for reports. */
  dtype: string;
  /** The LM head is the embedding matrix. */
  tied: boolean;
  /** Embeddings, final norm, LM head (the embeddings themselves when tied). */
  globals(): Promise<Pick<ModelWeights, "embed" | "norm" | "lmHead">>;
  layer(i: number): Promise<LayerWeights>;
}

/**
 * The checkpoint's weights, read from its files on each call (checked first, so a bad model fails before any read);
 * the checkpoint must stay open while the source is used.
 *
 * @example
 * const src = checkpointWeights(await openCheckpoint("./model.gguf"));
 * const { q, down } = await src.layer(0);
 */
export function checkpointWeights(ck: Checkpoint): WeightSource {
  checkWeights(ck);
  const st = modelStored(ck);
  return {
    shape: ck.shape,
    dtype: ck.dtype,
    tied: !st.lmHead,
    async globals() {
      const embed = await tensor(ck, st.embed);
      return { embed, norm: norm(ck, await tensor(ck, st.norm)), lmHead: st.lmHead ? await tensor(ck, st.lmHead) : embed };
    },
    layer: async (i) => ({ ...(await readAttention(ck, i)), ...(await readMlp(ck, i)) }),
  };
}

/**
 * Weights already in host memory as a WeightSource.
 *
 * @example
 * const backend = await gpuBackend(heldWeights(await loadWeights(ck)), { required: true, precision: "f32" });
 */
export function heldWeights(w: ModelWeights): WeightSource {
  return {
    shape: w.shape,
    dtype: w.dtype,
    tied: w.lmHead === w.embed,
    globals: async () => ({ embed: w.embed, norm: w.norm, lmHead: w.lmHead }),
    layer: async (i) => w.layers[i]!,
  };
}

/**
 * Every tensor of the checkpoint, for the forward pass (quantized types dequantized here, on load).
 *
 * @example
 * const w = await loadWeights(await openCheckpoint("./model"));
 */
export function loadWeights(ck: Checkpoint): Promise<ModelWeights> {
  return readAllWeights(checkpointWeights(ck));
}

/**
 * Every layer of a source into host memory (the CPU pass holds the whole model).
 *
 * @example
 * const w = await readAllWeights(checkpointWeights(ck));
 */
export async function readAllWeights(src: WeightSource): Promise<ModelWeights> {
  const layers: LayerWeights[] = [];
  for (let i = 0; i < src.shape.layers.length; i++) layers.push(await src.layer(i));
  return { shape: src.shape, ...(await src.globals()), layers, dtype: src.dtype };
}
