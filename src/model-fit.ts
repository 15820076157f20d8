// The fit report of inspect and patch for a model read by a converter: the weights' size (a GGUF's tensor infos, a
// Hugging Face model's safetensors index or headers, else an estimate from config.json) and each engine's KV cache.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ModelInfo } from "./core/converter.ts";
import type { FitReport, WeightsSize } from "./core/fit.ts";
import { formatFit } from "./inspect-report.ts";
import { readSafetensorsHeaderSync } from "./weights/read-safetensors-header.ts";

const INDEX = "model.safetensors.index.json";

/**
 * The weights of a Hugging Face model directory from its safetensors files without reading them: the index's
 * metadata.total_size, else the data bytes behind each file's header; null when there are none (or one is unreadable,
 * said in the note of the estimate that replaces it).
 *
 * @example
 * hfWeightsSize("./Llama-3.1-8B-Instruct").weights; // { bytes: 16060522496, source: "safetensors", ... }
 */
export function hfWeightsSize(dir: string): { weights: WeightsSize | null; note?: string } {
  const index = join(dir, INDEX);
  try {
    if (existsSync(index)) {
      const total = (JSON.parse(readFileSync(index, "utf8")) as { metadata?: { total_size?: unknown } }).metadata?.total_size;
      if (typeof total === "number" && Number.isFinite(total) && total > 0) return { weights: { bytes: total, source: "safetensors", note: `total_size of ${INDEX}` } };
    }
    const files = readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort();
    if (!files.length) return { weights: null };
    let bytes = 0;
    for (const f of files) {
      const h = readSafetensorsHeaderSync(join(dir, f));
      for (const t of h.tensors.values()) bytes += t.end - t.begin;
    }
    return { weights: { bytes, source: "safetensors", note: `tensor sizes from ${files.length} safetensors header${files.length > 1 ? "s" : ""}` } };
  } catch (err) {
    return { weights: null, note: `the safetensors sizes could not be read (${(err as Error).message.split("\n")[0]})` };
  }
}

/**
 * The fit report of a model for `context` tokens, or undefined for a format without layer shapes (ONNX). `weights`
 * replaces what the files say (a hub listing's file sizes).
 *
 * @example
 * modelFit(await converter.read("./Qwen2.5-7B-Instruct"), 131072)?.kvCache[0].f16;
 */
export function modelFit(info: ModelInfo, context: number, weights?: WeightsSize): FitReport | undefined {
  if (info.format !== "hf" || weights) return formatFit(info, context, weights);
  const found = hfWeightsSize(info.path.endsWith(".json") ? dirname(info.path) : info.path);
  return formatFit(info, context, found.weights, found.note);
}
