// `yarnify flags`: the runtime flags of a model on disk.
import { type ConverterOptions, converterFor } from "./models.ts";
import { runtimeFlags, type RuntimeFlags } from "./flags.ts";

/** Runtime flags for a model on disk (llama.cpp's arch name: GGUF general.architecture or HF model_type). */
export async function flags(model: string, opts: ConverterOptions = {}): Promise<RuntimeFlags> {
  const info = await (await converterFor(model, opts)).read(model);
  return runtimeFlags(info.spec, info.stored.gguf?.architecture ?? info.stored.architecture ?? "llama");
}
