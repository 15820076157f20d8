// What a plan changes in a GGUF header and its frequency tensors: computed from the header alone, so the local patch,
// the hub's header edit and the browser share it.
import type { Plan } from "../../src/core/types.ts";
import { GgufError } from "./errors.ts";
import { type FreqTensor, isNeutral, neutralised, ROPE_FREQS, ropeTensorValues } from "./freq-tensors.ts";
import { ggufKeysForPlan, type GgufPlanKeys, UnsupportedPlanError } from "./keys.ts";
import type { GgufHeader } from "./read.ts";
import { ggufFreqTensorRole } from "./spec.ts";

/** What a plan changes in a GGUF: keys of the header, and frequency tensors rewritten in place (their new values). */
export interface GgufPlanEdits extends GgufPlanKeys {
  tensors: FreqTensor[];
}

/**
 * The plan's keys and tensor rewrites for this header; a plan llama.cpp cannot express is a GgufError naming the file.
 * Frequency tensors that hold the scaling the plan replaces (llama3's rope_freqs, Phi-3's LongRoPE factors, or divisors
 * the keys' scaling combined them with) are rewritten to ones, so llama.cpp computes the plan alone; LongRoPE's
 * `rope.scaling.attn_factor`, which llama.cpp multiplies into every attention factor, goes to 1 with them. Divisors
 * yarnify does not recognise under no scaling key are refused: they would divide the planned frequencies too.
 *
 * @example
 * plannedEdits(header, tensors, plan(spec, { factor: 32, force: true })).tensors; // rope_freqs.weight, all ones
 */
export function plannedEdits(header: GgufHeader, tensors: readonly FreqTensor[], plan: Plan): GgufPlanEdits {
  let keys: GgufPlanKeys;
  try {
    keys = ggufKeysForPlan(header.architecture, plan, header.metadata);
  } catch (err) {
    if (err instanceof UnsupportedPlanError) throw new GgufError(header.file, "unsupported", err.message);
    throw err;
  }
  const arch = header.architecture;
  const role = ggufFreqTensorRole(header.metadata, arch, ropeTensorValues(tensors));
  const live = tensors.filter((t) => !isNeutral(t.values));
  const names = live.map((t) => t.name).join(", ");
  if (role === "unknown") {
    throw new GgufError(
      header.file,
      "unsupported",
      `${names} holds per-pair frequency divisors that are not convert_hf_to_gguf.py's llama3 factors, under no scaling key: llama.cpp would divide the planned frequencies by them too, and yarnify cannot tell what scaling they carry`,
    );
  }
  if (role === "none") return { ...keys, tensors: [] };
  const entries = [...keys.entries];
  const attnKey = `${arch}.rope.scaling.attn_factor`;
  const attn = header.metadata[attnKey];
  if (live.some((t) => t.name !== ROPE_FREQS) && attn !== undefined && Number(attn.value) !== 1) {
    entries.push({ key: attnKey, value: 1, type: attn.type });
  }
  return {
    entries,
    tensors: neutralised(live),
    warnings: [...keys.warnings, `${names} rewritten to ones in place: the scaling ${live.length > 1 ? "they hold is" : "it holds is"} replaced by the plan (the rest of the tensor data is copied unchanged and verified)`],
  };
}
