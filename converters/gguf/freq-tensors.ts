// The GGUF tensors that carry RoPE frequencies: `rope_freqs.weight` (convert_hf_to_gguf.py bakes Llama 3.x's llama3
// scaling into it as per-pair divisors) and `rope_factors_long.weight` / `rope_factors_short.weight` (Phi-3's
// LongRoPE factors). llama.cpp divides each pair's angle by them under any scaling, YaRN included
// (ggml_rope_cache_init: rope_yarn(theta / freq_factors[i0/2], ...); llama_model::get_rope_factors picks rope_freqs,
// else long or short by the context). They are a few hundred bytes: read here, and rewritten to ones (neutral) when a
// plan replaces the scaling they hold.
import { float16ToNumber, numberToFloat16 } from "../../src/core/float16.ts";
import { GgufError } from "./errors.ts";
import { tensorBytes } from "./ggml-types.ts";
import type { GgufHeader } from "./read.ts";
import type { ByteSource } from "./byte-source.ts";

export const ROPE_FREQS = "rope_freqs.weight";
export const ROPE_FACTORS_LONG = "rope_factors_long.weight";
export const ROPE_FACTORS_SHORT = "rope_factors_short.weight";
const NAMES: readonly string[] = [ROPE_FREQS, ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT];
const F32 = 0;
const F16 = 1;
// n_rot/2 entries: a head dimension of 8192 is far beyond any model; more means a corrupt header.
const MAX_ENTRIES = 4096;

/** One frequency tensor as stored. */
export interface FreqTensor {
  name: string;
  /** ggml type (0 = F32, 1 = F16: the ones convert_hf_to_gguf.py and quantizers leave it in). */
  type: number;
  /** Absolute offset of its data in the file, and its length in bytes. */
  offset: number;
  bytes: number;
  values: number[];
}

/** The values llama.cpp uses, by role. */
export interface RopeTensors {
  freqs?: number[];
  long?: number[];
  short?: number[];
}

/**
 * The frequency tensors of a header (shard 1 of a split model holds them: the converter writes them first), read.
 *
 * @example
 * const [freqs] = await readFreqTensors(source, await readGgufHeader(source)); // Llama 3.1: rope_freqs.weight, 64 × f32
 */
export async function readFreqTensors(source: ByteSource, header: GgufHeader): Promise<FreqTensor[]> {
  const out: FreqTensor[] = [];
  for (const t of header.tensorInfos) {
    if (!NAMES.includes(t.name)) continue;
    const count = Number(t.shape.reduce((a, b) => a * b, 1n));
    if (t.dtype !== F32 && t.dtype !== F16) {
      throw new GgufError(header.file, "unsupported", `${t.name} is stored as ggml type ${t.dtype}; yarnify reads frequency tensors in F32 or F16`);
    }
    if (count < 1 || count > MAX_ENTRIES) throw new GgufError(header.file, "malformed", `${t.name} has ${count} entries`);
    const bytes = Number(tensorBytes(t.dtype, t.shape));
    const offset = header.dataOffset + Number(t.offset);
    const buf = new Uint8Array(bytes);
    if ((await source.readAt(buf, offset)) !== bytes) throw new GgufError(header.file, "data-short", `${t.name} ends past the end of the file`);
    const view = new DataView(buf.buffer);
    const values = Array.from({ length: count }, (_, i) => (t.dtype === F32 ? view.getFloat32(4 * i, header.littleEndian) : float16ToNumber(view.getUint16(2 * i, header.littleEndian))));
    out.push({ name: t.name, type: t.dtype, offset, bytes, values });
  }
  return out;
}

/**
 * The tensors' values by the role llama.cpp gives them.
 *
 * @example
 * ggufRopeSpec(meta, arch, { tensors: ropeTensorValues(await readFreqTensors(source, header)) });
 */
export function ropeTensorValues(tensors: readonly FreqTensor[]): RopeTensors {
  const get = (name: string) => tensors.find((t) => t.name === name)?.values;
  const out: RopeTensors = {};
  const freqs = get(ROPE_FREQS);
  const long = get(ROPE_FACTORS_LONG);
  const short = get(ROPE_FACTORS_SHORT);
  if (freqs) out.freqs = freqs;
  if (long) out.long = long;
  if (short) out.short = short;
  return out;
}

/**
 * Divisors of one everywhere leave every frequency as it is (x / 1 is exact in float32).
 *
 * @example
 * isNeutral([1, 1, 1]); // true
 */
export const isNeutral = (values: readonly number[] | undefined): boolean => values === undefined || values.every((v) => v === 1);

/**
 * The tensors with every divisor set to one: what llama.cpp then computes is the keys' scaling alone.
 *
 * @example
 * neutralised(tensors)[0].values; // [1, 1, ..., 1]
 */
export function neutralised(tensors: readonly FreqTensor[]): FreqTensor[] {
  return tensors.map((t) => ({ ...t, values: t.values.map(() => 1) }));
}

/**
 * The stored bytes of a tensor's values (its own type and byte order).
 *
 * @example
 * tensorValueBytes({ ...t, values: [1, 1] }, true); // F32: 00 00 80 3f 00 00 80 3f
 */
export function tensorValueBytes(t: FreqTensor, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(t.bytes);
  const view = new DataView(out.buffer);
  t.values.forEach((v, i) => (t.type === F32 ? view.setFloat32(4 * i, v, littleEndian) : view.setUint16(2 * i, numberToFloat16(v), littleEndian)));
  return out;
}

/**
 * One line per tensor for the dry-run diff and messages: name, type, entries, the values at both ends.
 *
 * @example
 * freqTensorText(llama31Freqs); // "rope_freqs.weight = f32[64] [1, 1, …, 8]"
 */
export function freqTensorText(t: FreqTensor): string {
  const v = t.values;
  const shown = v.length <= 4 ? v.join(", ") : `${v[0]}, ${v[1]}, …, ${v[v.length - 1]}`;
  return `${t.name} = ${t.type === F32 ? "f32" : "f16"}[${v.length}] [${shown}]`;
}
