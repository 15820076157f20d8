// The global layers' frequencies for an evaluation method: the planner's (methods.ts), then what the format
// adds on top, so a GGUF is measured as llama.cpp computes it.
import type { RopeFrequencies } from "../../core/rope/types.ts";
import { type EvalMethod, ropeForMethod } from "../methods.ts";
import type { ModelRope } from "./model-shape.ts";

/**
 * Frequencies and attention factor of `method` at `length` tokens for this model.
 *
 * @example
 * const rope = modelRopeFor(model.rope, "yarn", 1024); // YaRN ×(1024 / trained context)
 */
export function modelRopeFor(rope: ModelRope, method: EvalMethod, length: number, factor?: number): RopeFrequencies {
  const r = ropeForMethod({ spec: rope.spec, method, length, factor });
  const ff = rope.freqFactors;
  // ggml_rope_ext divides each pair's angle by its factor after any YaRN blend, which is linear in the frequency.
  return ff ? { ...r, invFreq: r.invFreq.map((f, j) => Math.fround(f / ff[j]!)) } : r;
}
