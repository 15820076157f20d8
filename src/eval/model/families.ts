// The model families the evaluator runs, as data: each is the Llama forward pass plus the few switches where it
// really differs (transformers' modeling_<family>.py and llama.cpp's src/models/<arch>.cpp for the GGUF side).
// The pass itself (cpu/forward.ts, gpu/backend.ts) reads these switches; nothing else knows a family by name.
import { ModelFormatError } from "../../core/errors.ts";

export type FamilyName = "llama" | "mistral" | "qwen2" | "qwen3" | "gemma3" | "phi3";

/** How transformers picks a layer's attention window when config.json has no `layer_types` list. */
export type WindowRule =
  | "none" // full causal attention everywhere (Llama)
  | "all" // `sliding_window`, when set, on every layer (Mistral, Phi-3)
  | "from-max-window-layers" // `use_sliding_window`: layers from `max_window_layers` on (Qwen2, Qwen3)
  | "pattern"; // every `sliding_window_pattern`-th layer is global, the others slide (Gemma 3)

export interface Family {
  name: FamilyName;
  /** config.json `architectures` entries read as this family. */
  hfArchitectures: readonly string[];
  /** GGUF `general.architecture` values read as this family (Mistral's converter writes `llama`). */
  ggufArchitectures: readonly string[];
  /** Q, K and V projections carry biases (Qwen2). */
  qkvBias: boolean;
  /** RMSNorm over each head's Q and K before RoPE (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** Every RMSNorm multiplies by (1 + w); llama.cpp's converter stores w + 1, so only config.json weights get the 1 added. */
  normPlusOne: boolean;
  /** RMSNorm on the attention and MLP outputs before each residual add, and a pre-MLP norm (Gemma 3). */
  sandwichNorms: boolean;
  /** Embeddings multiplied by √hidden (Gemma). */
  scaleEmbeddings: boolean;
  /** The MLP's gate activation: SwiGLU's silu or Gemma's GELU with the tanh approximation. */
  activation: "silu" | "gelu-tanh";
  /** Sliding layers rotate with their own plain RoPE base (Gemma 3's rope_local_base_freq); global layers take the scaling. */
  localRope: boolean;
  windows: WindowRule;
  /** `query_pre_attn_scalar` sets the softmax scale (Gemma); otherwise 1/√head_dim. */
  queryPreAttnScalar: boolean;
  /** llama.cpp's converter reorders Q/K rows to its interleaved (NORM) RoPE layout (LlamaModel.permute). */
  ggufInterleavedQk: boolean;
  /** GGUF sliding-window layers llama.cpp runs: none, or `attention.sliding_window` every layer but each `sliding_window_pattern`-th (default 6). */
  ggufWindows: "none" | "pattern";
}

const LLAMA: Family = {
  name: "llama",
  hfArchitectures: ["LlamaForCausalLM"],
  ggufArchitectures: ["llama"],
  qkvBias: false,
  qkNorm: false,
  normPlusOne: false,
  sandwichNorms: false,
  scaleEmbeddings: false,
  activation: "silu",
  localRope: false,
  windows: "none",
  queryPreAttnScalar: false,
  ggufInterleavedQk: true,
  ggufWindows: "none",
};

export const FAMILIES: readonly Family[] = [
  LLAMA,
  // llama.cpp's `llama` architecture has no sliding window: the converter drops Mistral's `sliding_window`.
  { ...LLAMA, name: "mistral", hfArchitectures: ["MistralForCausalLM"], ggufArchitectures: [], windows: "all" },
  { ...LLAMA, name: "qwen2", hfArchitectures: ["Qwen2ForCausalLM"], ggufArchitectures: ["qwen2"], qkvBias: true, windows: "from-max-window-layers", ggufInterleavedQk: false },
  { ...LLAMA, name: "qwen3", hfArchitectures: ["Qwen3ForCausalLM"], ggufArchitectures: ["qwen3"], qkNorm: true, windows: "from-max-window-layers", ggufInterleavedQk: false },
  {
    ...LLAMA,
    name: "gemma3",
    hfArchitectures: ["Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"],
    ggufArchitectures: ["gemma3"],
    qkNorm: true,
    normPlusOne: true,
    sandwichNorms: true,
    scaleEmbeddings: true,
    activation: "gelu-tanh",
    localRope: true,
    windows: "pattern",
    queryPreAttnScalar: true,
    ggufInterleavedQk: false,
    ggufWindows: "pattern",
  },
  // Phi-3 stores qkv_proj and gate_up_proj fused (as does its GGUF: attn_qkv, ffn_up of 2·intermediate rows);
  // llama.cpp disables Phi's sliding window.
  { ...LLAMA, name: "phi3", hfArchitectures: ["Phi3ForCausalLM"], ggufArchitectures: ["phi3"], windows: "all", ggufInterleavedQk: false },
];

const supported = (f: (x: Family) => readonly string[]) => FAMILIES.flatMap(f).join(", ");

/**
 * The family of a config.json architecture, or a ModelFormatError naming it and the supported list.
 *
 * @example
 * familyOfHf("Qwen2ForCausalLM", "model/config.json").qkvBias; // true
 */
export function familyOfHf(architecture: string, file: string): Family {
  const f = FAMILIES.find((x) => x.hfArchitectures.includes(architecture));
  if (!f) throw new ModelFormatError(file, `architecture ${architecture || "(none)"} is not supported by the evaluator (supported: ${supported((x) => x.hfArchitectures)})`);
  return f;
}

/**
 * The family of a GGUF `general.architecture`, or a ModelFormatError naming it and the supported list.
 *
 * @example
 * familyOfGguf("gemma3", "model.gguf").normPlusOne; // true
 */
export function familyOfGguf(architecture: string, file: string): Family {
  const f = FAMILIES.find((x) => x.ggufArchitectures.includes(architecture));
  if (!f) throw new ModelFormatError(file, `GGUF architecture ${architecture} is not supported by the evaluator (supported: ${supported((x) => x.ggufArchitectures)})`);
  return f;
}
