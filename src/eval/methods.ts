// Which RoPE each evaluation method uses at a given length, always through the planner and computeRope,
// so that `eval` measures exactly what `patch` would write and transformers would compute.
import { plan } from "../core/plan.ts";
import { computeRope } from "../core/rope/compute.ts";
import { trainedContext } from "../core/rope/trained-context.ts";
import type { RopeFrequencies, RopeSpec } from "../core/rope/types.ts";
import type { PlanMethod } from "../core/types.ts";
import { PlanError } from "../core/errors.ts";

/**
 * "model": the RoPE the checkpoint declares; "none": plain RoPE; "pi" (alias "linear"): position
 * interpolation; "ntk": NTK-aware base; "dynamic": transformers' dynamic NTK at the evaluated length;
 * "yarn": YaRN; "dynamic-yarn": YaRN with factor max(1, length / original) at the evaluated length.
 */
export type EvalMethod = "model" | "none" | "pi" | "linear" | "ntk" | "dynamic" | "yarn" | "dynamic-yarn";
export const EVAL_METHODS: readonly EvalMethod[] = ["model", "none", "pi", "linear", "ntk", "dynamic", "yarn", "dynamic-yarn"];

/**
 * An `--methods` word as an EvalMethod (a PlanError naming the valid ones otherwise).
 *
 * @example
 * const methods = "none,pi,yarn".split(",").map(parseEvalMethod);
 */
export function parseEvalMethod(name: string): EvalMethod {
  if ((EVAL_METHODS as readonly string[]).includes(name)) return name as EvalMethod;
  throw new PlanError(undefined, `unknown evaluation method "${name}" (use ${EVAL_METHODS.join(", ")})`);
}

export interface MethodRopeParams {
  spec: RopeSpec;
  method: EvalMethod;
  /** Tokens per forward pass (the context, or the sliding window). */
  length: number;
  /** Fixed scale; defaults to max(1, length / original context). Ignored by "model", "none", "dynamic-yarn". */
  factor?: number;
}

/**
 * The frequencies a method gives a model at one window length: its own scaling ('model'), plain RoPE, or PI, NTK, dynamic NTK, YaRN from the trained context.
 *
 * @example
 * const f = ropeForMethod({ spec: info.spec, method: "yarn", length: 4096 });
 */
export function ropeForMethod(p: MethodRopeParams): RopeFrequencies {
  const { spec, method, length } = p;
  if (method === "model") return computeRope(spec, { seqLen: length });
  const original = trainedContext(spec);
  // Plain RoPE at the trained length: an already-scaled model is stripped back to its original context.
  const plain: RopeSpec = { ...spec, context: original, originalContext: original, scaling: { method: "none" } };
  if (method === "none") return computeRope(plain);
  if (method === "dynamic-yarn") {
    return computeRope({ ...plain, scaling: { method: "dynamic-yarn", originalContext: original } }, { seqLen: length });
  }
  const factor = p.factor ?? Math.max(1, length / original);
  if (!(factor > 0) || !Number.isFinite(factor)) throw new PlanError(undefined, `factor must be a positive number, got ${factor}`);
  // Every method reduces to plain RoPE at factor 1 (transformers computes identical frequencies).
  if (factor <= 1) return computeRope(plain);
  if (method === "dynamic") {
    // The checkpoint keeps its max_position_embeddings: dynamic NTK scales from there at run time.
    return computeRope({ ...plain, scaling: { method: "dynamic", factor } }, { seqLen: length });
  }
  const planMethod: PlanMethod = method === "pi" || method === "linear" ? "linear" : method;
  const planned = plan(plain, { method: planMethod, factor });
  return { invFreq: planned.invFreq, attentionFactor: planned.attentionFactor };
}
