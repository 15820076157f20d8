// Picks the converter for a model path.
import { existsSync } from "node:fs";
import { hfConverter } from "../converters/hf/index.ts";
import { onnxConverter } from "../converters/onnx/converter.ts";
import type { Converter } from "./converter.ts";
import { ModelFormatError } from "./errors.ts";

/** Format adapters in the order they are tried. */
export const CONVERTERS: Converter[] = [hfConverter, onnxConverter];

export function converterFor(path: string): Converter {
  if (!existsSync(path)) throw new ModelFormatError("no such file or directory", path);
  const c = CONVERTERS.find((conv) => conv.accepts(path));
  if (!c) throw new ModelFormatError(`not a model yarnify reads (${CONVERTERS.map((x) => x.format).join(", ")})`, path);
  return c;
}
