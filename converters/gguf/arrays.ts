// Reads an array (the vocabulary, the merges, the scores, the token types) from a GGUF header's raw bytes. The header
// reader skips large arrays when parsing (decoding a vocabulary with the parser costs seconds); a tokenizer needs them.
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import type { GgufHeader } from "./read.ts";

/** Element readers by GGUF value type: [bytes, read(view, at, littleEndian)]. */
const NUMBERS: Partial<Record<GGUFValueType, [number, (v: DataView, at: number, le: boolean) => number]>> = {
  [GGUFValueType.UINT8]: [1, (v, at) => v.getUint8(at)],
  [GGUFValueType.INT8]: [1, (v, at) => v.getInt8(at)],
  [GGUFValueType.UINT16]: [2, (v, at, le) => v.getUint16(at, le)],
  [GGUFValueType.INT16]: [2, (v, at, le) => v.getInt16(at, le)],
  [GGUFValueType.UINT32]: [4, (v, at, le) => v.getUint32(at, le)],
  [GGUFValueType.INT32]: [4, (v, at, le) => v.getInt32(at, le)],
  [GGUFValueType.FLOAT32]: [4, (v, at, le) => v.getFloat32(at, le)],
};

/** The array entry of `key`: its element type, count and where the elements start; undefined when absent. */
function arrayAt(h: GgufHeader, key: string): { elementType: number; count: number; at: number; view: DataView } | undefined {
  const kv = h.kvs.find((k) => k.key === key);
  if (!kv) return undefined;
  if (kv.type !== GGUFValueType.ARRAY) throw new GgufError(h.file, "malformed", `${key} is not an array`);
  const view = new DataView(h.raw.buffer, h.raw.byteOffset, h.raw.byteLength);
  // key (u64 length + bytes), value type (u32), element type (u32), count (u64), then the elements.
  const at = kv.start + 8 + Number(view.getBigUint64(kv.start, h.littleEndian)) + 8;
  return { elementType: kv.elementType!, count: Number(view.getBigUint64(at, h.littleEndian)), at: at + 8, view };
}

/**
 * The strings of array key `key`, or undefined when the header has no such key.
 *
 * @example
 * const tokens = ggufStringArray(header, "tokenizer.ggml.tokens");
 */
export function ggufStringArray(h: GgufHeader, key: string): string[] | undefined {
  const a = arrayAt(h, key);
  if (!a) return undefined;
  if (a.elementType !== GGUFValueType.STRING) throw new GgufError(h.file, "malformed", `${key} is not an array of strings`);
  const decoder = new TextDecoder();
  const out: string[] = new Array(a.count);
  let at = a.at;
  for (let i = 0; i < a.count; i++) {
    const len = Number(a.view.getBigUint64(at, h.littleEndian));
    out[i] = decoder.decode(h.raw.subarray(at + 8, at + 8 + len));
    at += 8 + len;
  }
  return out;
}

/**
 * The numbers of array key `key` (integer or float32 elements), or undefined when the header has no such key.
 *
 * @example
 * const scores = ggufNumberArray(header, "tokenizer.ggml.scores");
 */
export function ggufNumberArray(h: GgufHeader, key: string): number[] | undefined {
  const a = arrayAt(h, key);
  if (!a) return undefined;
  const reader = NUMBERS[a.elementType as GGUFValueType];
  if (!reader) throw new GgufError(h.file, "malformed", `${key} is not an array of numbers`);
  const [size, read] = reader;
  return Array.from({ length: a.count }, (_, i) => read(a.view, a.at + i * size, h.littleEndian));
}
