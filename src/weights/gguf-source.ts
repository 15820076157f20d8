// A GGUF model's tensors as a TensorSource: one file, every shard of a split model (`-00001-of-0000N.gguf`), local
// or over HTTP Range requests; quantized types are dequantized as they are read (ggml-dequant.ts).
import { ModelFormatError } from "../core/errors.ts";
import { readGgufHeader, type GgufHeader } from "../../converters/gguf/read.ts";
import { openSource, type ByteSource, type RemoteSourceOptions } from "../../converters/gguf/source.ts";
import { shardLocations } from "../../converters/gguf/split.ts";
import { dequantize, GGML_DECODED, ggmlBlockValues, ggmlBytes, ggmlTypeName } from "./ggml-dequant.ts";
import type { TensorSource } from "./tensor-source.ts";

interface Entry {
  source: ByteSource;
  /** ggml's ne, fastest dimension first. */
  ne: number[];
  type: number;
  /** Absolute byte offset of the data. */
  offset: number;
}

export interface GgufSource extends TensorSource {
  /** The first shard's header: the metadata (architecture, hyper-parameters, vocabulary). */
  header: GgufHeader;
}

/**
 * Opens a GGUF (shard 1 of a split model opens them all) for reading tensors.
 *
 * @example
 * const src = await openGgufSource("model-Q4_K_M.gguf");
 * const q = await src.read("blk.0.attn_q.weight"); // [out, in], float32
 */
export async function openGgufSource(location: string, opts: RemoteSourceOptions = {}): Promise<GgufSource> {
  const sources: ByteSource[] = [];
  const entries = new Map<string, Entry>();
  let header: GgufHeader | undefined;
  try {
    for (const [i, shard] of shardLocations(location).entries()) {
      const source = await openSource(shard, opts);
      sources.push(source);
      const h = await readGgufHeader(source, { continuation: i > 0 });
      header ??= h;
      for (const t of h.tensorInfos) {
        entries.set(t.name, { source, ne: t.shape.map(Number), type: t.dtype, offset: h.dataOffset + Number(t.offset) });
      }
    }
  } catch (err) {
    await Promise.all(sources.map((s) => s.close()));
    throw err;
  }
  const entry = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) throw new ModelFormatError(location, `no tensor named ${name}`);
    return e;
  };
  const problem = (name: string, e: Entry): string | undefined => {
    if (GGML_DECODED[e.type] === undefined) {
      return `tensor ${name} is ${ggmlTypeName(e.type)}, a quantization yarnify does not decode (${Object.values(GGML_DECODED).join(", ")})`;
    }
    if (e.ne[0]! % ggmlBlockValues(e.type) !== 0) return `tensor ${name}: rows of ${e.ne[0]} values are not whole ${ggmlTypeName(e.type)} blocks`;
    return undefined;
  };
  /** Row length and row count of a tensor, refusing types and shapes that cannot be decoded. */
  const layout = (name: string, e: Entry) => {
    const why = problem(name, e);
    if (why) throw new ModelFormatError(location, why);
    const width = e.ne[0]!;
    return { width, height: e.ne.slice(1).reduce((a, b) => a * b, 1), rowBytes: ggmlBytes(e.type, width) };
  };
  const bytes = async (e: Entry, name: string, from: number, length: number) => {
    const buf = new Uint8Array(length);
    const got = await e.source.readAt(buf, e.offset + from);
    if (got < length) throw new ModelFormatError(e.source.name, `tensor ${name} ends past the end of the file`);
    return buf;
  };
  return {
    file: location,
    header: header!,
    names: () => [...entries.keys()],
    has: (name) => entries.has(name),
    shape: (name) => [...entry(name).ne].reverse(),
    dtype: (name) => ggmlTypeName(entry(name).type),
    problem: (name) => problem(name, entry(name)),
    async read(name) {
      const e = entry(name);
      const { width, height, rowBytes } = layout(name, e);
      return dequantize(e.type, await bytes(e, name, 0, rowBytes * height), width * height);
    },
    async rows(name, ids) {
      const e = entry(name);
      const { width, height, rowBytes } = layout(name, e);
      const out = new Float32Array(ids.length * width);
      for (const [i, row] of ids.entries()) {
        if (!(Number.isInteger(row) && row >= 0 && row < height)) throw new ModelFormatError(location, `row ${row} outside ${name} (${height} rows)`);
        out.set(dequantize(e.type, await bytes(e, name, row * rowBytes, rowBytes), width), i * width);
      }
      return out;
    },
    close: async () => {
      await Promise.all(sources.map((s) => s.close()));
    },
  };
}
