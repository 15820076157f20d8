// What a fine-tuning recipe carries from a patched model: its RoPE block exactly as config.json stores it (the
// `rope_scaling` dict with `rope_theta` beside it, or the v5 `rope_parameters`), the context it declares, and the
// scaling as transformers reads it (for trainers that want every YaRN field spelled out).
import { readHfConfig } from "../core/hf-config/read.ts";
import type { JsonValue } from "../core/hf-config/json-text.ts";
import { YarnifyError } from "../core/errors.ts";
import type { RopeScaling } from "../core/types.ts";

export interface PatchedRope {
  /** config.json's path, for messages. */
  file: string;
  /** Where the RoPE keys sit: the root, or `text_config` (multimodal models). */
  nesting: string | null;
  /** The stored block: { rope_scaling: {...}, rope_theta } or { rope_parameters: {...} }, key for key. */
  block: { [key: string]: JsonValue };
  /** max_position_embeddings: the sequence length to train at. */
  context: number;
  theta: number;
  scaling: RopeScaling;
  /**
   * How config.json spells each number of the block, by key name: true for a float literal (4.0, 1e-05), false for
   * an integer one (40), so a recipe writes 4.0 where the file has 4.0 and 40 where it has 40.
   */
  floatSpelling: ReadonlyMap<string, boolean>;
}

/**
 * Reads the RoPE block of a patched Hugging Face model (a folder with config.json). A model with no scaling is
 * refused: there is nothing to fine-tune for.
 *
 * @example
 * const rope = readPatchedRope("./qwen2.5-7b-128k");
 * rope.block.rope_scaling; // { factor: 4, original_max_position_embeddings: 32768, type: "yarn", ... }
 */
export function readPatchedRope(dir: string): PatchedRope {
  const cfg = readHfConfig(dir);
  const scaling = cfg.spec.scaling;
  if (scaling.method === "none") throw new YarnifyError(cfg.file, "declares no RoPE scaling: patch it first (yarnify patch <model> --factor S)");
  const text = cfg.textConfig as { [key: string]: JsonValue };
  const block: { [key: string]: JsonValue } = cfg.layout === "rope_parameters"
    ? { rope_parameters: text["rope_parameters"] }
    : { rope_scaling: text["rope_scaling"], ...("rope_theta" in text && { rope_theta: text["rope_theta"] }) };
  const floatSpelling = new Map<string, boolean>();
  // The parser keeps each number's literal text by its container and key.
  const walk = (v: JsonValue, key: string, container: object) => {
    if (typeof v === "number") floatSpelling.set(key, /[.eE]/.test(cfg.parsed.literals.byContainer.get(container)?.get(key) ?? ""));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k, v);
  };
  for (const [k, v] of Object.entries(block)) walk(v, k, text);
  return { file: cfg.file, nesting: cfg.nesting, block, context: cfg.spec.context, theta: cfg.spec.theta, scaling, floatSpelling };
}
