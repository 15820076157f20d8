// `yarnify flags`: the runtime flags of a model on disk.
import { type ConverterOptions, converterFor } from "./models.ts";
import { runtimeFlags, type RuntimeFlags } from "./flags.ts";

export interface FlagsParams extends ConverterOptions {
  /** A model directory or file. */
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
  const { model, ...opts } = params;
  const info = await (await converterFor(model, opts)).read(model);
  return runtimeFlags(info.spec, info.stored.gguf?.architecture ?? info.stored.architecture ?? "llama");
}
