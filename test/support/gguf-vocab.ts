// Reads tokenizer.ggml.tokens and tokenizer.ggml.merges from a GGUF file's metadata, so the tests can
// compare the HF tokenizer with the vocabulary llama.cpp uses (an independent copy of the same tokenizer).
import { readFileSync } from "node:fs";

export function readGgufVocab(file: string): { tokens: string[]; merges: string[]; model: string } {
  const buf = readFileSync(file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const u32 = () => { const v = view.getUint32(off, true); off += 4; return v; };
  const u64 = () => { const v = Number(view.getBigUint64(off, true)); off += 8; return v; };
  const str = () => { const n = u64(); const s = buf.toString("utf8", off, off + n); off += n; return s; };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): unknown => {
    if (type === 8) return str();
    if (type === 9) {
      const t = u32();
      const n = u64();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(value(t));
      return out;
    }
    const size = SIZES[type];
    if (size === undefined) throw new Error(`GGUF value type ${type} unknown`);
    const v = type === 4 ? view.getUint32(off, true) : undefined;
    off += size;
    return v;
  };
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${file}: not GGUF`);
  off = 4;
  u32();
  u64();
  const kvCount = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    kv.set(key, value(u32()));
  }
  return {
    tokens: kv.get("tokenizer.ggml.tokens") as string[],
    merges: kv.get("tokenizer.ggml.merges") as string[],
    model: kv.get("tokenizer.ggml.model") as string,
  };
}
