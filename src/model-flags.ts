// `yarnify flags`: the runtime flags of a model on disk.
import { converterFor, type ReadOptions } from "./models.ts";
import { runtimeFlags, type RuntimeFlags } from "./flags.ts";

export interface FlagsParams extends ReadOptions {
  /** A model directory or file (GGUF also an http(s) URL, reached with `remote`'s headers and fetch). */
  model: string;
}

/**
 * Runtime flags for a model on disk (llama.cpp's arch name: GGUF general.architecture or HF model_type).
 *
 * @example
 * const f = await flags({ model: "./qwen-128k" });
 * console.log(f.llamacpp?.command);
 */
export async function flags(params: FlagsParams): Promise<RuntimeFlags> {
  const { model, remote, ...opts } = params;
  const info = await (await converterFor(model, opts)).read(model, remote);
  return runtimeFlags(info.spec, info.stored.gguf?.architecture ?? info.stored.architecture ?? "llama");
}
