// Opens a model for the evaluator and the real-weights probe: a Hugging Face directory (config.json, safetensors,
// tokenizer.json) or a GGUF (local, split or URL, its own vocabulary); an ONNX graph is refused with the reason.
import { existsSync, statSync } from "node:fs";
import { ModelFormatError } from "../../core/errors.ts";
import { isGgufPath } from "../../../converters/gguf/detect.ts";
import { isUrl } from "../../../converters/gguf/source.ts";
import { isOnnxPath } from "../../../converters/onnx/detect.ts";
import { openGgufSource, type GgufSource } from "../../weights/gguf-source.ts";
import { safetensorsSource } from "../../weights/safetensors-source.ts";
import { majorityDtype, type TensorSource } from "../../weights/tensor-source.ts";
import { ggufTokenizer } from "../gguf-tokenizer.ts";
import { loadTokenizer, type TextTokenizer } from "../tokenizer.ts";
import { readGgufShape } from "./gguf-shape.ts";
import { readHfShape } from "./hf-shape.ts";
import type { ModelRope, ModelShape } from "./model-shape.ts";
import { GGUF_TENSOR_NAMES, hfTensorNames, type TensorNames } from "./tensor-names.ts";

export interface Checkpoint {
  format: "hf" | "gguf";
  /** The directory or the GGUF's location, as given. */
  path: string;
  /** What the shapes are checked against, for error lines ("config.json", "GGUF header"). */
  configName: string;
  shape: ModelShape;
  rope: ModelRope;
  source: TensorSource;
  names: TensorNames;
  /** Q/K rows are in llama.cpp's interleaved order (its converter's permute for NORM-RoPE architectures). */
  interleavedQk: boolean;
  /** Norm weights are Gemma's w of a (1 + w) multiplier, as config.json checkpoints store them. */
  normPlusOne: boolean;
  dtype: string;
  /** The model's own tokenizer: tokenizer.json, or the GGUF's vocabulary as llama.cpp tokenizes with it. */
  tokenizer(): TextTokenizer;
  close(): Promise<void>;
}

/**
 * Opens `path` (directory, .gguf file or URL) and reads its shape; tensors are read later, on demand.
 *
 * @example
 * const ck = await openCheckpoint("./Qwen3-0.6B");
 * try { console.log(ck.shape.family.name, ck.shape.layers.length); } finally { await ck.close(); }
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  if (!isUrl(path) && !existsSync(path)) throw new ModelFormatError(path, "no such file or directory");
  if (!isUrl(path) && statSync(path).isDirectory()) return openHf(path);
  if (isGgufPath(path)) return openGguf(path);
  if (isOnnxPath(path)) {
    throw new ModelFormatError(path, "the evaluator does not run ONNX graphs (their RoPE is baked into the graph): evaluate the Hugging Face directory or a GGUF of the same weights");
  }
  throw new ModelFormatError(path, "not a model the evaluator reads (a Hugging Face directory or a GGUF file)");
}

function openHf(dir: string): Checkpoint {
  const { shape, rope, hf } = readHfShape(dir);
  const source = safetensorsSource(dir);
  const names = hfTensorNames(shape.family, (n) => source.has(n));
  if (!names) throw new ModelFormatError(dir, "no embed_tokens.weight tensor (model.embed_tokens.weight or a known prefix)");
  let tok: TextTokenizer | undefined;
  return {
    format: "hf",
    path: dir,
    configName: hf.file,
    shape,
    rope,
    source,
    names,
    interleavedQk: false,
    normPlusOne: shape.family.normPlusOne,
    dtype: majorityDtype(source),
    tokenizer: () => (tok ??= loadTokenizer(dir)),
    close: () => source.close(),
  };
}

async function openGguf(location: string): Promise<Checkpoint> {
  const source: GgufSource = await openGgufSource(location);
  try {
    const { shape, rope } = await readGgufShape(source);
    let tok: TextTokenizer | undefined;
    return {
      format: "gguf",
      path: location,
      configName: "GGUF header",
      shape,
      rope,
      source,
      names: GGUF_TENSOR_NAMES,
      interleavedQk: shape.family.ggufInterleavedQk,
      normPlusOne: false,
      dtype: majorityDtype(source),
      tokenizer: () => (tok ??= ggufTokenizer(source.header)),
      close: () => source.close(),
    };
  } catch (err) {
    await source.close();
    throw err;
  }
}
