// Reads back what a patched graph holds (inv_freq and the attention scale, or the cos/sin caches) and compares it
// with the frequencies it should hold: the check `yarnify validate` runs on ONNX models.
import type { Check } from "../../src/core/converter.ts";
import { analyseOnnx } from "./inspect.ts";
import { valueTolerance } from "./recover.ts";
import { dataTypeName } from "./tensor.ts";

export interface VerifyOnnxParams {
  model: string;
  /** The frequencies and multiplier the graph should apply (a Plan has both). */
  invFreq: number[];
  attentionFactor: number;
  /** The context the graph must accept (cache rows), when known. */
  context?: number;
  tensor?: string;
}

export function verifyOnnx(p: VerifyOnnxParams): Check {
  const a = analyseOnnx({ path: p.model, tensor: p.tensor, context: p.context });
  const d = a.detection;
  const problems: string[] = [];
  let worstInv = 0;
  let dtype: number;
  let stored: number[];
  let factor: number;
  if (d.style === "inv-freq") {
    dtype = d.tensors[0].header.dataType;
    stored = Array.from(d.values);
    factor = d.attentionFactor;
  } else {
    dtype = d.cos.header.dataType;
    if (p.context !== undefined && d.rows < p.context) problems.push(`cache has ${d.rows} rows, fewer than the context ${p.context}`);
    // Angles recovered from the caches lose a little precision: the tolerance below is twice the storage one.
    stored = d.invFreq;
    factor = d.attentionFactor;
  }
  const tol = (d.style === "inv-freq" ? 1 : 2) * valueTolerance(dtype);
  if (stored.length !== p.invFreq.length) {
    problems.push(`the graph has ${stored.length} frequencies, expected ${p.invFreq.length}`);
  } else {
    stored.forEach((v, j) => (worstInv = Math.max(worstInv, Math.abs(v / p.invFreq[j] - 1))));
    if (worstInv > tol) problems.push(`inv_freq off by up to ${(worstInv * 100).toPrecision(3)}% (tolerance ${(tol * 100).toPrecision(2)}% for ${dataTypeName(dtype)})`);
  }
  const factorError = Math.abs(factor / p.attentionFactor - 1);
  if (factorError > valueTolerance(dtype)) problems.push(`attention factor ${factor} applied, expected ${p.attentionFactor}`);
  const where = d.style === "inv-freq" ? d.tensors.map((t) => `"${t.name}"`).join(", ") : `"${d.cos.name}"/"${d.sin.name}" [${d.rows},${d.half}]`;
  return {
    name: "onnx-graph",
    status: problems.length ? "fail" : "pass",
    detail: problems.length ? `${where}: ${problems.join("; ")}` : `${where} hold the expected frequencies and attention factor ${factor}`,
    invFreqMaxRelativeError: worstInv,
    attentionFactor: factor,
  };
}
