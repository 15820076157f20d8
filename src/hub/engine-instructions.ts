// The "How to run it" section of a model card: the patched repo in each engine, and the runtime flags that give
// the original model the same RoPE.
import { flags } from "../model-flags.ts";
import type { EngineInstructions } from "./model-card.ts";

/** How to run the patched repo in each engine, and the flags that give the original the same RoPE. */
export async function engineInstructions(patchedDir: string, target: string, original: string, context: number): Promise<EngineInstructions[]> {
  const out: EngineInstructions[] = [
    { engine: "transformers", command: `from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained("${target}")` },
    { engine: "vLLM", command: `vllm serve ${target} --max-model-len ${context}` },
    { engine: "SGLang", command: `python -m sglang.launch_server --model-path ${target} --context-length ${context}` },
  ];
  const f = await flags({ model: patchedDir });
  // The same RoPE without this repo: flags for the original (llama.cpp needs a GGUF of it, so MODEL.gguf stays).
  for (const [engine, e, model] of [["llama.cpp (a GGUF of the original, runtime flags)", f.llamacpp, "MODEL"], ["vLLM (original repo, runtime flags)", f.vllm, original], ["SGLang (original repo, runtime flags)", f.sglang, original]] as const) {
    if (!e) continue;
    const env = Object.entries(e.env).map(([k, v]) => `${k}=${v} `).join("");
    out.push({ engine, command: env + e.command.replace(/\bMODEL\b/g, model), ...(e.notes.length > 0 && { note: e.notes.join(" ") }) });
  }
  return out;
}

