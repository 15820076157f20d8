// Known family quirks: facts about published model families that their files do not say (or say wrongly), each
// with the public source it comes from. The planner, the config.json writer and the engine profiles consult this
// table; test/family-quirks.test.ts has one test per entry, and the README's quirks table lists them.

/** One family's quirk. `families` matches config.json `model_type` and GGUF `general.architecture`. */
export interface FamilyQuirk {
  id: string;
  families: RegExp;
  /** One line for warnings and the README. */
  summary: string;
  /** Public page the fact comes from. */
  source: string;
  /** The file declares `declared` tokens but the model was trained on `trained` (its card plans YaRN from it). */
  trainedContext?: { declared: number; trained: number };
  /**
   * The only rope_type values transformers' config class for the family loads from config.json; any other
   * (yarn, linear, dynamic) fails to load, so the config.json writer refuses it.
   */
  hfRopeTypes?: readonly string[];
  /** Why the other rope types fail in transformers (for the refusal). */
  hfRopeTypesReason?: string;
}

export const FAMILY_QUIRKS: readonly FamilyQuirk[] = [
  {
    id: "qwen3-trained-32k",
    // https://huggingface.co/Qwen/Qwen3-8B#processing-long-texts: "Qwen3 natively supports context lengths of up
    // to 32,768 tokens"; max_position_embeddings 40,960 reserves 32,768 output + 8,192 prompt tokens, and the card's
    // YaRN block uses original_max_position_embeddings 32768 (same on Qwen3-30B-A3B and the other Qwen3 cards).
    families: /^qwen3(?:_?moe)?$/i,
    summary: "Qwen3 declares 40960 tokens (32768 output + 8192 prompt) but was trained on 32768; its card plans YaRN from 32768",
    source: "https://huggingface.co/Qwen/Qwen3-8B#processing-long-texts",
    trainedContext: { declared: 40960, trained: 32768 },
  },
  {
    id: "phi3-longrope-only",
    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/phi3/configuration_phi3.py:
    // convert_rope_params_to_dict turns rope_type "su" and "yarn" into "longrope", and validate_rope raises unless
    // rope_type is "default" or "longrope" with short_factor/long_factor lists (KeyError/ValueError otherwise).
    // Phi-4-mini ships model_type "phi3" too.
    families: /^phi3$/i,
    summary: "transformers' Phi3Config renames rope_type yarn to longrope and then requires short_factor/long_factor: only default or longrope load",
    source: "https://github.com/huggingface/transformers/blob/main/src/transformers/models/phi3/configuration_phi3.py",
    hfRopeTypes: ["default", "longrope"],
    hfRopeTypesReason:
      "transformers' Phi3Config renames rope_type \"yarn\" to \"longrope\" and then fails without short_factor/long_factor (it loads only default or longrope)",
  },
  {
    id: "phimoe-longrope-only",
    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/phimoe/configuration_phimoe.py:
    // validate_rope requires short_mscale and long_mscale for any rope_type but "default" (Phi-3.5-MoE's longrope).
    families: /^phimoe$/i,
    summary: "transformers' PhimoeConfig requires short_mscale/long_mscale for any rope_type but default (only its longrope loads)",
    source: "https://github.com/huggingface/transformers/blob/main/src/transformers/models/phimoe/configuration_phimoe.py",
    hfRopeTypes: ["default", "longrope"],
    hfRopeTypesReason: "transformers' PhimoeConfig requires short_mscale/long_mscale for any rope_type but default (it loads only default or longrope)",
  },
];

/** The quirks of a family (model_type or GGUF architecture), in table order. */
export function quirksFor(family: string | undefined): FamilyQuirk[] {
  if (!family) return [];
  return FAMILY_QUIRKS.filter((q) => q.families.test(family));
}

/** The trained context a family's quirk gives for a declared context, with the quirk; undefined when none applies. */
export function trainedContextQuirk(family: string | undefined, declared: number): { trained: number; quirk: FamilyQuirk } | undefined {
  for (const q of quirksFor(family)) {
    if (q.trainedContext && q.trainedContext.declared === declared) return { trained: q.trainedContext.trained, quirk: q };
  }
  return undefined;
}

/** Why transformers cannot load `hfType` for this family, or null when it can. */
export function hfRopeTypeRefusal(family: string | undefined, hfType: string): string | null {
  for (const q of quirksFor(family)) {
    if (q.hfRopeTypes && !q.hfRopeTypes.includes(hfType)) return `${q.hfRopeTypesReason ?? q.summary} (${q.source})`;
  }
  return null;
}
