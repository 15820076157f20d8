// Picks the converter for a model path.
import { existsSync } from "node:fs";
import { hfConverter } from "../converters/hf/index.ts";
import { createOnnxConverter } from "../converters/onnx/converter.ts";
import type { Converter } from "./converter.ts";
import { ModelFormatError } from "./errors.ts";

/** Options some formats take (the CLI passes them through). */
export interface ConverterOptions {
  /** ONNX: the inv_freq or cos/sin cache to use when several disagree. */
  tensor?: string;
  /** The trained context, for files that do not record it (an ONNX graph without a config beside it). */
  originalContext?: number;
}

/** Format adapters in the order they are tried. */
export function converters(opts: ConverterOptions = {}): Converter[] {
  return [hfConverter, createOnnxConverter({ tensor: opts.tensor, context: opts.originalContext })];
}

export function converterFor(path: string, opts: ConverterOptions = {}): Converter {
  if (!existsSync(path)) throw new ModelFormatError("no such file or directory", path);
  const all = converters(opts);
  const c = all.find((conv) => conv.accepts(path));
  if (!c) throw new ModelFormatError(`not a model yarnify reads (${all.map((x) => x.format).join(", ")})`, path);
  return c;
}
