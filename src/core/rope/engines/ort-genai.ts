// onnxruntime-genai's model builder (rope-engines.md §5.1): YaRN only when beta_fast is present, ramp over
// head_size/2 without floor/ceil, a lone mscale taken as the multiplier, attention_factor ignored.
import { defaultInvFreq, linearInvFreq } from "../default.ts";
import { f32 } from "../float32.ts";
import { scalingFromHfDict } from "../hf-params.ts";
import { getMscale } from "../yarn.ts";
import type { EngineView } from "../../types.ts";
import { type StoredRope, transformersDict } from "./stored.ts";
import { ModelFormatError } from "../../errors.ts";
import { transformersLoadRefusal, transformersSpec, transformersView } from "./transformers.ts";
import { MROPE_READING, mropeOf } from "./mrope.ts";

/**
 * ONNX Runtime GenAI's model builder's reading of stored parameters (YaRN only with beta_fast present, the correction range never floored or ceiled).
 *
 * @example
 * console.log(ortGenaiView(info.stored).invFreq.length);
 */
export function ortGenaiView(s: StoredRope): EngineView {
  const refusal = transformersLoadRefusal(s);
  if (refusal) throw new ModelFormatError(undefined, `loads config.json through transformers, which fails: ${refusal}`);
  const dict = transformersDict(s);
  const { spec, warnings } = transformersSpec(s);
  const sc = spec.scaling;
  if (mropeOf(s) && sc.method !== "none") {
    warnings.push(`ORT GenAI ignores ${sc.method} scaling on M-RoPE: ${MROPE_READING.ortGenai.how}`);
    return { invFreq: defaultInvFreq(s.rotaryDim, s.theta), attentionFactor: 1, warnings };
  }
  if (sc.method === "linear") return { invFreq: linearInvFreq(s.rotaryDim, s.theta, sc.factor ?? 1), attentionFactor: 1, warnings };
  if (sc.method !== "yarn") {
    if (!["none", "llama3", "longrope"].includes(sc.method)) warnings.push(`ORT GenAI's builder has no ${sc.method} scaling: plain RoPE`);
    return sc.method === "none" || !["llama3", "longrope"].includes(sc.method)
      ? { invFreq: defaultInvFreq(s.rotaryDim, s.theta), attentionFactor: 1, warnings }
      : { ...transformersView(s), warnings };
  }
  if (!dict || !("beta_fast" in dict)) {
    warnings.push("no beta_fast in the config: ORT GenAI's builder does not enable YaRN (plain RoPE)");
    return { invFreq: defaultInvFreq(s.rotaryDim, s.theta), attentionFactor: 1, warnings };
  }
  const raw = scalingFromHfDict(dict);
  const factor = sc.factor ?? 1;
  const L = spec.originalContext ?? s.maxPositionEmbeddings;
  const dHalf = s.headDim / 2;
  const bound = (beta: number) => (dHalf * Math.log(L / (beta * 2 * Math.PI))) / Math.log(s.theta);
  const low = bound(sc.betaFast || 32);
  const high = bound(sc.betaSlow || 1);
  if (!(0 < low && low < high && high < dHalf - 1)) warnings.push(`ORT GenAI's builder asserts 0 < low < high < ${dHalf - 1}; got ${low.toFixed(3)}, ${high.toFixed(3)}`);
  const plain = defaultInvFreq(s.rotaryDim, s.theta);
  const invFreq = plain.map((inv, j) => {
    const mask = f32(1 - Math.min(1, Math.max(0, f32(f32(j - low) / f32(high - low)))));
    return f32(f32(f32(inv / f32(factor)) * f32(1 - mask)) + f32(inv * mask));
  });
  const ms = raw.mscale ?? 0;
  const msAll = raw.mscaleAllDim ?? 0;
  const attentionFactor = ms > 0 && msAll > 0 ? getMscale(factor, ms) / getMscale(factor, msAll) : ms > 0 ? ms : getMscale(factor);
  if (raw.attentionFactor !== undefined) warnings.push("ORT GenAI's builder ignores attention_factor");
  if (sc.truncate !== false) warnings.push("ORT GenAI's builder never floors/ceils the correction range (as truncate: false)");
  if (s.headDim !== s.rotaryDim) warnings.push("ORT GenAI's builder ramps over head_size/2, not the rotary dim");
  return { invFreq, attentionFactor, warnings };
}
