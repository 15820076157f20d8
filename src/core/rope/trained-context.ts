// The one rule for a model's trained (pre-extension) context, which planning, computing, inspecting,
// validating and evaluating all need.
import type { RopeSpec } from "./types.ts";

/**
 * The trained context a spec states, or undefined when it states none. The scaling's own original context
 * comes first: it is the length the scaling was computed against, so it wins over a top-level declaration.
 *
 * @example
 * statedTrainedContext(spec) ?? "not stated";
 */
export function statedTrainedContext(spec: RopeSpec): number | undefined {
  return spec.scaling.originalContext ?? spec.originalContext;
}

/**
 * The context a model was trained with before any extension: what the spec states (see statedTrainedContext),
 * else its declared context. A file that states no original is taken as unextended, as transformers takes
 * max_position_embeddings when original_max_position_embeddings is absent.
 *
 * @example
 * const original = trainedContext(info.spec); // 32768 for Qwen2.5-7B-Instruct
 */
export function trainedContext(spec: RopeSpec): number {
  return statedTrainedContext(spec) ?? spec.context;
}
