// Finds the rotary embedding of a graph by structure and values, never by tensor names:
//  - "inv-freq": a float vector constant ([d/2] in any broadcast shape) upstream of both a Cos and a Sin
//    (torch / optimum / transformers.js exports);
//  - "ort-genai-cache": cos/sin cache constants [rows, rot/2] feeding com.microsoft RotaryEmbedding or
//    GroupQueryAttention (do_rotary=1) (ORT GenAI model builder);
//  - "onnx-rotary-cache": the same caches feeding the opset-23 standard RotaryEmbedding.
import { OnnxFormatError, OnnxRopeAmbiguousError, OnnxRopeNotFoundError } from "./errors.ts";
import type { ConstantTensor, GraphIndex } from "./graph-index.ts";
import type { ModelLayout, NodeEntry } from "./layout.ts";
import { fitTheta, invFreqFromCaches, valueTolerance } from "./recover.ts";
import { type TensorHeader, dataTypeName, elementCount, isFloatType, readTensorValues } from "./tensor.ts";

export const METADATA_KEY = "yarnify.rope";

export interface ScaleMul {
  mul: NodeEntry;
  trig: NodeEntry;
  scalar: ConstantTensor;
  /** The node that reads the scalar: the Mul, or the CastLike in front of it (as yarnify inserts). */
  reader: NodeEntry;
  /** Index of the scalar among the reader's inputs. */
  inputIndex: number;
}

export interface InvFreqDetection {
  style: "inv-freq";
  tensors: ConstantTensor[];
  values: Float64Array;
  cos: NodeEntry[];
  sin: NodeEntry[];
  scaleMuls: ScaleMul[];
  attentionFactor: number;
  /** Theta and rotary dim when the values are plain RoPE. */
  fit?: { theta: number; rotaryDim: number };
  /** The values are not plain RoPE but equal what the config.json beside the model computes (llama3, ...). */
  explained?: boolean;
  /** Other candidates that were searched and why they were set aside. */
  rejected: string[];
}

export interface CacheDetection {
  style: "ort-genai-cache" | "onnx-rotary-cache";
  cos: ConstantTensor;
  sin: ConstantTensor;
  rows: number;
  half: number;
  consumers: NodeEntry[];
  invFreq: number[];
  attentionFactor: number;
  fit?: { theta: number; rotaryDim: number };
  /** Rotary dim declared by a consumer's rotary_embedding_dim attribute, when non-zero. */
  declaredRotaryDim?: number;
  explained?: boolean;
  rejected: string[];
}

export type Detection = InvFreqDetection | CacheDetection;

export function describeTensor(t: ConstantTensor): string {
  const ext = t.header.data.externalLocation ? `, in ${t.header.data.externalLocation}` : "";
  return `${t.kind} "${t.name}" [${t.header.dims.join(",")}] ${dataTypeName(t.header.dataType)}${ext}`;
}

/**
 * `expected`: the inv_freq a config.json beside the model computes, which also explains non-plain values
 * (llama3-scaled frequencies, say).
 */
export function detectRope(p: { layout: ModelLayout; index: GraphIndex; tensor?: string; patched: boolean; expected?: number[] }): Detection {
  const { layout, index } = p;
  const caches = detectCaches(layout, index, p.tensor, p.expected);
  if (caches) return caches;
  const inv = detectInvFreq(layout, index, p.tensor, p.patched, p.expected);
  if (inv.detection) return inv.detection;
  const rotaryNodes = layout.nodes.filter((n) => isRotaryConsumer(n) !== undefined).length;
  const cosCount = layout.nodes.filter((n) => n.node.opType === "Cos").length;
  const sinCount = layout.nodes.filter((n) => n.node.opType === "Sin").length;
  const rejected = inv.rejected.length ? `; set aside: ${inv.rejected.join("; ")}` : "";
  const chosen = p.tensor ? ` named "${p.tensor}"` : "";
  throw new OnnxRopeNotFoundError(
    layout.path,
    `no rotary embedding found: searched ${cosCount} Cos and ${sinCount} Sin nodes for a float inv_freq vector${chosen} feeding both, ` +
      `and ${rotaryNodes} RotaryEmbedding/GroupQueryAttention nodes for cos/sin cache constants${rejected}`,
  );
}

// ---- inv_freq style ----

/** Every constant upstream of `start` (through any ops, up to `depth` nodes away). */
function upstreamConstants(index: GraphIndex, start: NodeEntry, depth = 12): Set<string> {
  const found = new Set<string>();
  const seen = new Set<NodeEntry>([start]);
  let frontier = [start];
  for (let level = 0; level < depth && frontier.length; level++) {
    const next: NodeEntry[] = [];
    for (const entry of frontier) {
      for (const input of entry.node.input) {
        if (!input) continue;
        if (index.constants.has(input)) found.add(input);
        const prod = index.producer.get(input);
        if (prod && !seen.has(prod) && prod.node.opType !== "Constant") {
          seen.add(prod);
          next.push(prod);
        }
      }
    }
    frontier = next;
  }
  return found;
}

/** A float tensor with one non-1 dim of 2..8192 entries: [n], [1, n, 1], ... */
function isVectorLike(h: TensorHeader): boolean {
  if (!isFloatType(h.dataType)) return false;
  const big = h.dims.filter((d) => d !== 1);
  return big.length === 1 && big[0] >= 2 && big[0] <= 8192;
}

function detectInvFreq(
  layout: ModelLayout,
  index: GraphIndex,
  tensor: string | undefined,
  patched: boolean,
  expected: number[] | undefined,
): { detection?: InvFreqDetection; rejected: string[] } {
  const cosNodes = layout.nodes.filter((n) => n.node.opType === "Cos");
  const sinNodes = layout.nodes.filter((n) => n.node.opType === "Sin");
  const feeds = new Map<string, { cos: NodeEntry[]; sin: NodeEntry[] }>();
  for (const [list, key] of [[cosNodes, "cos"], [sinNodes, "sin"]] as const) {
    for (const trig of list) {
      for (const name of upstreamConstants(index, trig)) {
        const c = index.constants.get(name);
        if (!c || !isVectorLike(c.header)) continue;
        const f = feeds.get(name) ?? { cos: [], sin: [] };
        f[key].push(trig);
        feeds.set(name, f);
      }
    }
  }
  const rejected: string[] = [];
  type Candidate = { tensor: ConstantTensor; values: Float64Array; fit?: { theta: number; rotaryDim: number }; explained?: boolean; cos: NodeEntry[]; sin: NodeEntry[] };
  const candidates: Candidate[] = [];
  for (const [name, f] of feeds) {
    const t = index.constants.get(name) as ConstantTensor;
    if (!f.cos.length || !f.sin.length) {
      rejected.push(`${describeTensor(t)} feeds only ${f.cos.length ? "Cos" : "Sin"}`);
      continue;
    }
    if (tensor !== undefined && name !== tensor) continue;
    const values = readTensorValues(t.src, t.header, layout.path);
    const tol = valueTolerance(t.header.dataType);
    const fit = fitTheta(values, tol);
    const explained = !fit.ok && matches(values, expected, tol);
    if (!fit.ok && !patched && !explained) {
      const config = expected ? ", nor what the config.json beside it computes" : "";
      rejected.push(`${describeTensor(t)} is not a geometric series (${fit.reason})${config}`);
      continue;
    }
    candidates.push({ tensor: t, values, fit: fit.ok ? { theta: fit.theta, rotaryDim: fit.rotaryDim } : undefined, explained, cos: f.cos, sin: f.sin });
  }
  if (tensor !== undefined && candidates.length === 0 && !feeds.has(tensor)) {
    rejected.push(`no float vector named "${tensor}" feeds Cos and Sin (candidates: ${[...feeds.keys()].join(", ") || "none"})`);
  }
  if (!candidates.length) return { rejected };
  // Copies with equal values (one per layer, say) are one rotary embedding; differing values are ambiguous.
  const groups: Candidate[][] = [];
  for (const c of candidates) {
    const g = groups.find((g) => sameValues(g[0].values, c.values));
    if (g) g.push(c);
    else groups.push([c]);
  }
  if (groups.length > 1) {
    const list = candidates.map((c) => `${describeTensor(c.tensor)}${c.fit ? ` (theta ${c.fit.theta}, dim ${c.fit.rotaryDim})` : " (not plain RoPE)"}`);
    throw new OnnxRopeAmbiguousError(
      layout.path,
      candidates.map((c) => c.tensor.name),
      `${candidates.length} inv_freq candidates disagree: ${list.join("; ")}; choose one with tensor (--tensor NAME)`,
    );
  }
  const group = groups[0];
  const cos = unique(group.flatMap((c) => c.cos));
  const sin = unique(group.flatMap((c) => c.sin));
  const scaleMuls = [...cos, ...sin].flatMap((trig) => findScaleMuls(index, trig));
  const factors = unique(scaleMuls.map((s) => readTensorValues(s.scalar.src, s.scalar.header, layout.path)[0]));
  if (factors.length > 1) {
    throw new OnnxFormatError(layout.path, `cos and sin are scaled by different constants (${factors.join(", ")}); refusing to guess the attention factor`);
  }
  return {
    detection: {
      style: "inv-freq",
      tensors: group.map((c) => c.tensor),
      values: group[0].values,
      cos,
      sin,
      scaleMuls,
      attentionFactor: factors[0] ?? 1,
      fit: group[0].fit,
      explained: group[0].explained,
      rejected,
    },
    rejected,
  };
}

/** Whether `values` equal `expected` within a relative tolerance. */
function matches(values: ArrayLike<number>, expected: number[] | undefined, tol: number): boolean {
  if (!expected || expected.length !== values.length) return false;
  for (let j = 0; j < values.length; j++) if (Math.abs(values[j] / expected[j] - 1) > tol) return false;
  return true;
}

/** Mul nodes that multiply the Cos/Sin output by a scalar constant (the exported attention_scaling). */
function findScaleMuls(index: GraphIndex, trig: NodeEntry): ScaleMul[] {
  const out: ScaleMul[] = [];
  const isScalar = (c: ConstantTensor | undefined): c is ConstantTensor =>
    c !== undefined && isFloatType(c.header.dataType) && elementCount(c.header.dims) === 1;
  for (const consumer of index.consumers.get(trig.node.output[0]) ?? []) {
    if (consumer.node.opType !== "Mul" || consumer.node.input.length !== 2) continue;
    const other = consumer.node.input[0] === trig.node.output[0] ? 1 : 0;
    const scalar = index.constants.get(consumer.node.input[other]);
    if (isScalar(scalar)) {
      out.push({ mul: consumer, trig, scalar, reader: consumer, inputIndex: other });
      continue;
    }
    const cast = index.producer.get(consumer.node.input[other]);
    if (cast?.node.opType === "CastLike") {
      const castScalar = index.constants.get(cast.node.input[0]);
      if (isScalar(castScalar)) out.push({ mul: consumer, trig, scalar: castScalar, reader: cast, inputIndex: 0 });
    }
  }
  return out;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

// ---- cache style ----

/** Input indices of cos_cache and sin_cache for a rotary consumer node, or undefined when it is not one. */
export function isRotaryConsumer(entry: NodeEntry): { cos: number; sin: number; standard: boolean } | undefined {
  const n = entry.node;
  const ms = n.domain === "com.microsoft";
  const std = n.domain === "" || n.domain === "ai.onnx";
  if (n.opType === "RotaryEmbedding" && ms) return { cos: 2, sin: 3, standard: false };
  if (n.opType === "RotaryEmbedding" && std) return { cos: 1, sin: 2, standard: true };
  if (n.opType === "GroupQueryAttention" && ms) {
    const rotary = n.attribute.find((a) => a.name === "do_rotary");
    if (rotary && Number(rotary.i) === 1) return { cos: 7, sin: 8, standard: false };
  }
  return undefined;
}

function detectCaches(layout: ModelLayout, index: GraphIndex, tensor: string | undefined, expected: number[] | undefined): CacheDetection | undefined {
  const rejected: string[] = [];
  type Pair = { cos: ConstantTensor; sin: ConstantTensor; consumers: NodeEntry[]; standard: boolean; rotaryDim?: number };
  const pairs = new Map<string, Pair>();
  for (const entry of layout.nodes) {
    const slots = isRotaryConsumer(entry);
    if (!slots) continue;
    const label = `${entry.node.domain || "ai.onnx"}.${entry.node.opType} "${entry.node.name}"`;
    const cosName = entry.node.input[slots.cos];
    const sinName = entry.node.input[slots.sin];
    const cos = cosName ? index.constants.get(cosName) : undefined;
    const sin = sinName ? index.constants.get(sinName) : undefined;
    if (!cos || !sin) {
      rejected.push(`${label} takes cos/sin caches computed in the graph, not stored`);
      continue;
    }
    if (cos.header.dims.length !== 2 || sin.header.dims.join() !== cos.header.dims.join() || !isFloatType(cos.header.dataType)) {
      rejected.push(`${label} caches are not float [rows, rot/2] tensors (${describeTensor(cos)})`);
      continue;
    }
    if (tensor !== undefined && tensor !== cos.name && tensor !== sin.name) continue;
    const key = `${cos.name}\u0000${sin.name}`;
    const attr = entry.node.attribute.find((a) => a.name === "rotary_embedding_dim");
    const pair = pairs.get(key) ?? { cos, sin, consumers: [], standard: slots.standard, rotaryDim: attr && Number(attr.i) > 0 ? Number(attr.i) : undefined };
    pair.consumers.push(entry);
    pairs.set(key, pair);
  }
  if (!pairs.size) {
    if (rejected.length) {
      throw new OnnxRopeNotFoundError(layout.path, `rotary nodes found but no cache to rewrite: ${rejected.join("; ")}`);
    }
    return undefined;
  }
  const decoded = [...pairs.values()].map((p) => ({
    pair: p,
    cos: readTensorValues(p.cos.src, p.cos.header, layout.path),
    sin: readTensorValues(p.sin.src, p.sin.header, layout.path),
  }));
  const first = decoded[0];
  const disagree = decoded.filter((d) => !sameValues(d.cos, first.cos) || !sameValues(d.sin, first.sin));
  if (disagree.length) {
    throw new OnnxRopeAmbiguousError(
      layout.path,
      decoded.map((d) => d.pair.cos.name),
      `${decoded.length} cos/sin cache pairs disagree: ${decoded.map((d) => `${describeTensor(d.pair.cos)} + "${d.pair.sin.name}"`).join("; ")}; choose one with tensor (--tensor NAME)`,
    );
  }
  const [rows, half] = first.pair.cos.header.dims;
  if (rows < 2) throw new OnnxFormatError(layout.path, `cos cache "${first.pair.cos.name}" has ${rows} row; cannot recover its frequencies`);
  const { invFreq, attentionFactor } = invFreqFromCaches(first.cos, first.sin, rows, half);
  const tol = 2 * valueTolerance(first.pair.cos.header.dataType);
  const normalised = invFreq.map((v) => v / invFreq[0]);
  const fit = Math.abs(invFreq[0] - 1) <= 1e-3 ? fitTheta(normalised, tol) : undefined;
  return {
    style: first.pair.standard ? "onnx-rotary-cache" : "ort-genai-cache",
    cos: first.pair.cos,
    sin: first.pair.sin,
    rows,
    half,
    consumers: decoded.flatMap((d) => d.pair.consumers),
    invFreq,
    attentionFactor,
    fit: fit?.ok ? { theta: fit.theta, rotaryDim: fit.rotaryDim } : undefined,
    declaredRotaryDim: first.pair.rotaryDim,
    explained: !fit?.ok && matches(invFreq, expected, tol),
    rejected,
  };
}
