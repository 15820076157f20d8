// Small ONNX graphs of each rotary export style, built with onnx-proto, and float64 references.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { encodeValues } from "../../converters/onnx/tensor.ts";

const { onnx } = onnxProto;
export type ITensor = onnxProto.onnx.ITensorProto;
export type INode = onnxProto.onnx.INodeProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

export const FLOAT = 1;
export const INT64 = 7;
export const FLOAT16 = 10;
export const BFLOAT16 = 16;

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `yarnify-onnx-${tag}-`));
}

export function plainInvFreq(theta: number, dim: number): number[] {
  return Array.from({ length: dim / 2 }, (_, j) => Math.fround(1 / Math.fround(theta ** ((2 * j) / dim))));
}

export function tensor(name: string, dims: number[], dataType: number, values: ArrayLike<number>): ITensor {
  return { name, dims, dataType, rawData: encodeValues(values, dataType) };
}

export function int64Tensor(name: string, values: number[]): ITensor {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: INT64, rawData: raw };
}

/** The tensor's values moved to `file` (relative to the model) at `offset`; returns the bytes to write there. */
export function externalise(t: ITensor, location: string, offset: number): Uint8Array {
  const raw = t.rawData as Uint8Array;
  t.rawData = new Uint8Array(0);
  t.dataLocation = 1;
  t.externalData = [
    { key: "location", value: location },
    { key: "offset", value: String(offset) },
    { key: "length", value: String(raw.length) },
  ];
  return raw;
}

export function valueInfo(name: string, elemType: number, dims: (number | string)[]): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function node(opType: string, input: string[], output: string[], extra: Partial<INode> = {}): INode {
  return { opType, input, output, name: `n_${output[0]}`, ...extra };
}

export function intAttr(name: string, i: number) {
  return { name, type: 2, i };
}
export function intsAttr(name: string, ints: number[]) {
  return { name, type: 7, ints };
}
export function tensorAttr(name: string, t: ITensor) {
  return { name, type: 4, t };
}

export function writeModel(p: {
  path: string;
  nodes: INode[];
  initializers: ITensor[];
  inputs: IValueInfo[];
  outputs: IValueInfo[];
  opset?: number;
  msOpset?: boolean;
}): void {
  const opsetImport = [{ domain: "", version: p.opset ?? 18 }];
  if (p.msOpset) opsetImport.push({ domain: "com.microsoft", version: 1 });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "yarnify-test",
    opsetImport,
    graph: { name: "g", node: p.nodes, initializer: p.initializers, input: p.inputs, output: p.outputs },
  }).finish();
  writeFileSync(p.path, bytes);
}

/**
 * The torch/optimum pattern: inv_freq [1, d/2, 1] · position_ids[:, None, :] → Transpose → Concat → Cos, Sin.
 * Outputs "cos" and "sin" [1, seq, d].
 */
export function invFreqGraphNodes(p: { inv: string; extraCastTo?: number; sinName?: string; cosName?: string; pos?: string }): INode[] {
  const pos = p.pos ?? "position_ids";
  const cosOut = p.cosName ?? "cos";
  const sinOut = p.sinName ?? "sin";
  const tag = cosOut;
  const nodes: INode[] = [];
  let inv = p.inv;
  if (p.extraCastTo !== undefined) {
    nodes.push(node("Cast", [inv], [`${tag}_inv_cast`], { attribute: [intAttr("to", p.extraCastTo)] }));
    inv = `${tag}_inv_cast`;
  }
  nodes.push(
    node("Unsqueeze", [pos, "axes_1"], [`${tag}_pos_u`]),
    node("Cast", [`${tag}_pos_u`], [`${tag}_pos_f`], { attribute: [intAttr("to", FLOAT)] }),
    node("MatMul", [inv, `${tag}_pos_f`], [`${tag}_freqs`]),
    node("Transpose", [`${tag}_freqs`], [`${tag}_freqs_t`], { attribute: [intsAttr("perm", [0, 2, 1])] }),
    node("Concat", [`${tag}_freqs_t`, `${tag}_freqs_t`], [`${tag}_emb`], { attribute: [intAttr("axis", -1)] }),
    node("Cos", [`${tag}_emb`], [cosOut]),
    node("Sin", [`${tag}_emb`], [sinOut]),
  );
  return nodes;
}

/** cos and sin (cat layout) of the float64 reference at `position`. */
export function referenceRow(invFreq: number[], attentionFactor: number, position: number): { cos: number[]; sin: number[] } {
  const half = invFreq.map((inv) => inv * position);
  const cos = half.map((a) => Math.cos(a) * attentionFactor);
  const sin = half.map((a) => Math.sin(a) * attentionFactor);
  return { cos: [...cos, ...cos], sin: [...sin, ...sin] };
}

/** NeoX-halves rotation of one head vector x (length d) with cos/sin half rows. */
export function rotate(x: number[], cosHalf: number[], sinHalf: number[]): number[] {
  const h = cosHalf.length;
  const out = x.slice();
  for (let j = 0; j < h; j++) {
    out[j] = x[j] * cosHalf[j] - x[j + h] * sinHalf[j];
    out[j + h] = x[j + h] * cosHalf[j] + x[j] * sinHalf[j];
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
