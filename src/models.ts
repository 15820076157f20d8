// Picks the converter for a model path. A format is recognised by a cheap test (a directory, an extension, a
// magic number) and only then is its converter loaded: a GGUF patch does not load the ONNX graph reader, nor an
// HF one the GGUF parser.
import { existsSync } from "node:fs";
import { isGgufPath } from "../converters/gguf/detect.ts";
import { isUrl } from "../converters/gguf/source.ts";
import { isHfPath } from "../converters/hf/detect.ts";
import { isOnnxPath } from "../converters/onnx/detect.ts";
import type { Converter, RemoteAccess } from "./core/converter.ts";
import type { ModelFormat } from "./core/types.ts";
import { ModelFormatError } from "./core/errors.ts";

/** Options some formats take (the CLI passes them through). */
export interface ConverterOptions {
  /** ONNX: the inv_freq or cos/sin cache to use when several disagree. */
  tensor?: string;
  /** The trained context, for files that do not record it (an ONNX graph without a config beside it). */
  originalContext?: number;
  /** A remote GGUF: milliseconds without progress before a request is retried, then given up (default 30 s). */
  timeoutMs?: number;
}

/** What the readers (inspect, flags, validate) take: the format options, and how to reach a model given as a URL. */
export interface ReadOptions extends ConverterOptions {
  /** For an http(s) model (a GGUF read with Range requests): the headers and fetch of its requests (hubFileLocation's). */
  remote?: RemoteAccess;
}

/** Formats in the order they are tried. */
const FORMATS: Array<{ format: ModelFormat; accepts: (path: string) => boolean; load: (opts: ConverterOptions) => Promise<Converter> }> = [
  { format: "hf", accepts: isHfPath, load: async () => (await import("../converters/hf/index.ts")).hfConverter },
  {
    format: "gguf",
    accepts: isGgufPath,
    load: async (opts) => (await import("../converters/gguf/converter.ts")).createGgufConverter({ timeoutMs: opts.timeoutMs }),
  },
  {
    format: "onnx",
    accepts: isOnnxPath,
    load: async (opts) => (await import("../converters/onnx/converter.ts")).createOnnxConverter({ tensor: opts.tensor, context: opts.originalContext }),
  },
];

/**
 * Every format's converter, in the order they are tried.
 *
 * @example
 * for (const c of await converters()) console.log(c.format);
 */
export async function converters(opts: ConverterOptions = {}): Promise<Converter[]> {
  return Promise.all(FORMATS.map((f) => f.load(opts)));
}

/**
 * The converter for a model path (loaded only once its format is recognised): a folder with config.json, a GGUF (also an http(s) URL) or an ONNX graph.
 *
 * @example
 * const converter = await converterFor("./model");
 * const info = await converter.read("./model");
 */
export async function converterFor(path: string, opts: ConverterOptions = {}): Promise<Converter> {
  // A GGUF may be remote (http(s) URL, read with Range requests).
  if (!isUrl(path) && !existsSync(path)) throw new ModelFormatError(path, "no such file or directory");
  const f = FORMATS.find((x) => x.accepts(path));
  if (!f) throw new ModelFormatError(path, `not a model yarnify reads (${FORMATS.map((x) => x.format).join(", ")})`);
  return f.load(opts);
}
