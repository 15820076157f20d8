// Writes a random-weight GGUF of a real model's shape (its config.json: Llama and Qwen2 families), F16 or Q8_0, as
// llama.cpp loads it: the converter's keys (test/support/family-fixtures.ts), the tiny model's vocabulary padded with
// unused tokens to the model's vocabulary size, tensor data streamed to disk from one repeated random block (speed
// and memory do not depend on the values; every value is a finite ±[1/64, 1/32) so f16 storage holds them).
//   deno run -A bench/random-gguf.ts <config dir | fixture name> <F16|Q8_0> <out.gguf>
import { readFileSync } from "node:fs";
import process from "node:process";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { GGUFValueType, type MetadataValue } from "@huggingface/gguf";
import { archKeys, FIXTURES, tinyVocab, type Fixture, type FixtureName } from "../test/support/family-fixtures.ts";
import { ggufHeaderBytes, type MakeGgufParams, type MakeTensor } from "../test/support/gguf-make.ts";

const [source, type, out] = process.argv.slice(2) as [string, "F16" | "Q8_0", string];
if (!source || !["F16", "Q8_0"].includes(type) || !out) {
  console.error("usage: random-gguf.ts <config dir | fixture name> <F16|Q8_0> <out.gguf>");
  process.exit(1);
}
const fixture: Fixture = source in FIXTURES ? FIXTURES[source as FixtureName] : fromConfig(source);
const c = fixture.config as Record<string, number | boolean>;
const H = c["hidden_size"] as number, I = c["intermediate_size"] as number, V = c["vocab_size"] as number;
const heads = c["num_attention_heads"] as number, kv = (c["num_key_value_heads"] as number | undefined) ?? heads;
const D = (c["head_dim"] as number | undefined) ?? H / heads, layers = c["num_hidden_layers"] as number;
const tied = c["tie_word_embeddings"] !== false;

function fromConfig(dir: string): Fixture {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const arch = String(config["model_type"]);
  if (arch !== "llama" && arch !== "qwen2") throw new Error(`${dir}: model_type ${arch} (this writer makes llama and qwen2)`);
  return { name: arch as FixtureName, arch, trained: Number(config["max_position_embeddings"]), config };
}

const F32 = 0, F16 = 1, Q8_0 = 8;
const matrix = type === "F16" ? F16 : Q8_0;
// ggml order: the row length first.
const tensors: MakeTensor[] = [{ name: "token_embd.weight", shape: [H, V], type: matrix }, { name: "output_norm.weight", shape: [H], type: F32 }];
if (!tied) tensors.push({ name: "output.weight", shape: [H, V], type: matrix });
for (let i = 0; i < layers; i++) {
  const b = `blk.${i}.`;
  tensors.push(
    { name: `${b}attn_norm.weight`, shape: [H], type: F32 },
    { name: `${b}attn_q.weight`, shape: [H, heads * D], type: matrix },
    { name: `${b}attn_k.weight`, shape: [H, kv * D], type: matrix },
    { name: `${b}attn_v.weight`, shape: [H, kv * D], type: matrix },
    { name: `${b}attn_output.weight`, shape: [heads * D, H], type: matrix },
    { name: `${b}ffn_norm.weight`, shape: [H], type: F32 },
    { name: `${b}ffn_gate.weight`, shape: [H, I], type: matrix },
    { name: `${b}ffn_up.weight`, shape: [H, I], type: matrix },
    { name: `${b}ffn_down.weight`, shape: [I, H], type: matrix },
  );
  if (fixture.arch === "qwen2") {
    tensors.push({ name: `${b}attn_q.bias`, shape: [heads * D], type: F32 }, { name: `${b}attn_k.bias`, shape: [kv * D], type: F32 }, { name: `${b}attn_v.bias`, shape: [kv * D], type: F32 });
  }
}

// The tiny model's vocabulary, padded with unused tokens to the model's size (llama.cpp sizes the embeddings by it).
const vocab = await tinyVocab();
const tokens = vocab["tokenizer.ggml.tokens"]!.value as string[];
const types = vocab["tokenizer.ggml.token_type"]!.value as number[];
if (V < tokens.length) throw new Error(`vocab_size ${V} is below the tiny vocabulary's ${tokens.length}`);
const padded = (a: MetadataValue[], fill: (i: number) => MetadataValue) => [...a, ...Array.from({ length: V - a.length }, (_, i) => fill(a.length + i))];
vocab["tokenizer.ggml.tokens"] = { ...vocab["tokenizer.ggml.tokens"]!, value: padded(tokens, (i) => `<|unused_${i}|>`) as string[] };
vocab["tokenizer.ggml.token_type"] = { ...vocab["tokenizer.ggml.token_type"]!, value: padded(types, () => 5) as number[] };
const kvs: NonNullable<MakeGgufParams["kv"]> = { ...archKeys(fixture), ...vocab, "general.name": { value: "yarnify-random", type: GGUFValueType.STRING }, "general.file_type": { value: type === "F16" ? 1 : 7, type: GGUFValueType.UINT32 } };
if (fixture.arch === "llama") kvs["llama.vocab_size"] = { value: V, type: GGUFValueType.UINT32 };
const { header, tensorBytes, offsets } = ggufHeaderBytes({ arch: fixture.arch, kv: kvs, tensors });

// One random block, a whole number of Q8_0 blocks (34 bytes: f16 scale 2^-12, 32 int8) or of f16 pairs.
const block = new Uint8Array(34 * 2 ** 19);
const words = new Uint32Array(block.buffer);
let x = 2463534242;
for (let i = 0; i < words.length; i++) {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  // f16 pairs: random sign and mantissa, exponent 9 (±[2^-6, 2^-5)).
  words[i] = type === "F16" ? ((x >>> 0) & 0x83ff83ff) | 0x24002400 : x >>> 0;
}
if (type === "Q8_0") for (let b = 0; b < block.length; b += 34) block.set([0x00, 0x0c], b);
const ones = new Uint8Array(new Float32Array(Math.max(H, heads * D)).fill(1).buffer);
const zeros = new Uint8Array(ones.length);

const fh = await open(out, "w");
try {
  await fh.write(header, 0, header.length, 0);
  for (const [k, t] of tensors.entries()) {
    const at = header.length + offsets[k]!;
    const n = tensorBytes[k]!;
    if (t.type === F32) {
      await fh.write(t.name.endsWith(".bias") ? zeros : ones, 0, n, at);
      continue;
    }
    for (let done = 0; done < n; done += block.length) await fh.write(block, 0, Math.min(block.length, n - done), at + done);
  }
} finally {
  await fh.close();
}
const bytes = header.length + offsets.at(-1)! + tensorBytes.at(-1)!;
console.log(`${out}: ${fixture.arch} ${layers} layers, hidden ${H}, vocab ${V}, ${type}, ${(bytes / 2 ** 30).toFixed(2)} GiB`);
