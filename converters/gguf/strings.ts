// Reads a string array (the vocabulary, the merges) from a GGUF header's raw bytes. The header reader skips these
// when parsing (decoding a vocabulary with the parser costs seconds); a tokenizer needs exactly two of them.
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import type { GgufHeader } from "./read.ts";

/**
 * The strings of array key `key`, or undefined when the header has no such key.
 *
 * @example
 * const tokens = ggufStringArray(header, "tokenizer.ggml.tokens");
 */
export function ggufStringArray(h: GgufHeader, key: string): string[] | undefined {
  const kv = h.kvs.find((k) => k.key === key);
  if (!kv) return undefined;
  if (kv.type !== GGUFValueType.ARRAY || kv.elementType !== GGUFValueType.STRING) throw new GgufError(h.file, "malformed", `${key} is not an array of strings`);
  const view = new DataView(h.raw.buffer, h.raw.byteOffset, h.raw.byteLength);
  const le = h.littleEndian;
  const u64 = (at: number) => Number(view.getBigUint64(at, le));
  // key (u64 length + bytes), value type (u32), element type (u32), count (u64), then the strings.
  let at = kv.start + 8 + u64(kv.start) + 8;
  const count = u64(at);
  at += 8;
  const decoder = new TextDecoder();
  const out: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const len = u64(at);
    out[i] = decoder.decode(h.raw.subarray(at + 8, at + 8 + len));
    at += 8 + len;
  }
  return out;
}
