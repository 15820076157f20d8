// `yarnify flags`: the runtime flags that give an unpatched model the same RoPE in each serving engine.
import { ropeSummary } from "./inspect.ts";
import type { RopeSpec } from "./core/rope/types.ts";

export interface EngineFlags {
  /** A command line to adapt (MODEL stands for the model path or id). */
  command: string;
  env: Record<string, string>;
  notes: string[];
}

export interface RuntimeFlags {
  llamacpp: EngineFlags | null;
  vllm: EngineFlags | null;
  sglang: EngineFlags | null;
  /** Why an engine has no flags. */
  unsupported: string[];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const pyFloat = (n: number) => (Number.isInteger(n) ? `${n}.0` : String(n));
/** JSON with floats spelled as Python writes them (4.0), so engines that type-check config values accept it. */
function pyJson(obj: Record<string, number | string | boolean>): string {
  const parts = Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}: ${typeof v === "number" && k !== "original_max_position_embeddings" ? pyFloat(v) : JSON.stringify(v)}`);
  return `{${parts.join(", ")}}`;
}

/**
 * `architecture` is the llama.cpp arch name (GGUF general.architecture, or model_type for HF models).
 *
 * @example
 * const f = runtimeFlags(info.spec, "qwen2");
 * console.log(f.llamacpp?.command);
 */
export function runtimeFlags(spec: RopeSpec, architecture = "llama"): RuntimeFlags {
  const r = ropeSummary(spec);
  const unsupported: string[] = [];
  if (r.method === "none") return { llamacpp: null, vllm: null, sglang: null, unsupported: ["the model has no RoPE scaling: no flags needed"] };
  const dict: Record<string, number | string | boolean> = { rope_type: r.method === "dynamic-yarn" ? "yarn" : r.method, factor: r.factor };
  if (r.method === "yarn") {
    dict.original_max_position_embeddings = r.originalContext;
    dict.beta_fast = r.betaFast ?? 32;
    dict.beta_slow = r.betaSlow ?? 1;
    if (r.truncate === false) dict.truncate = false;
    if (r.mscale !== null) dict.mscale = r.mscale;
    if (r.mscaleAllDim !== null) dict.mscale_all_dim = r.mscaleAllDim;
    if (spec.scaling.attentionFactor !== undefined) dict.attention_factor = spec.scaling.attentionFactor;
  }
  let llamacpp: EngineFlags | null = null;
  if (r.method === "yarn" || r.method === "linear") {
    const args = [`--rope-scaling ${r.method}`, `--rope-scale ${r.factor}`];
    const notes: string[] = [];
    if (r.method === "yarn") {
      args.push(`--yarn-orig-ctx ${r.originalContext}`);
      if (r.betaFast !== 32) args.push(`--yarn-beta-fast ${r.betaFast}`);
      if (r.betaSlow !== 1) args.push(`--yarn-beta-slow ${r.betaSlow}`);
      if (r.truncate === false) notes.push("llama.cpp always floors/ceils the correction range: truncate=false cannot be reproduced");
      if (r.mscale !== null || spec.scaling.attentionFactor !== undefined) {
        notes.push(`llama.cpp derives the attention factor itself (transformers: ${r.attentionFactor.toFixed(6)}); --yarn-attn-factor is overwritten`);
      }
    }
    args.push(`-c ${r.context}`, `--override-kv ${architecture}.context_length=int:${r.context}`);
    notes.push("--override-kv raises the context llama-server allows; -c alone never sets the factor");
    llamacpp = { command: `llama-server -m MODEL.gguf ${args.join(" ")}`, env: {}, notes };
  } else unsupported.push(`llama.cpp has no ${r.method} RoPE scaling`);
  const params = { ...dict, rope_theta: r.theta };
  const vllm: EngineFlags = {
    command: `vllm serve MODEL --hf-overrides ${quote(`{"rope_parameters": ${pyJson(params)}}`)} --max-model-len ${r.context}`,
    env: {},
    notes: ["vLLM removed --rope-scaling; --hf-overrides is the supported way"],
  };
  const sglang: EngineFlags = {
    command: `python -m sglang.launch_server --model-path MODEL --json-model-override-args ${quote(`{"rope_scaling": ${pyJson(dict)}}`)} --context-length ${r.context}`,
    env: { SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN: "1" },
    notes: [],
  };
  return { llamacpp, vllm, sglang, unsupported };
}
