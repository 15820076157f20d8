// Mutated GGUF headers: every case must end in a parsed header or a GgufError, quickly, with bounded
// memory. Seeded; set YARNIFY_FUZZ_SEED to replay a run, YARNIFY_FUZZ_CASES for more cases.
import assert from "node:assert/strict";
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError } from "../converters/gguf/index.ts";
import { seededRandom } from "../src/core/random.ts";
import { readGgufHeader } from "../converters/gguf/read.ts";
import { openRemoteSource } from "../converters/gguf/source.ts";
import { bytesFetch, ggufHeaderBytes, makeGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";

const T = GGUFValueType;
const params = (alignment?: number) => ({
  arch: "qwen2",
  kv: {
    "general.name": { value: "fuzz", type: T.STRING },
    "qwen2.context_length": { value: 32768, type: T.UINT32 },
    "qwen2.rope.freq_base": { value: 1e6, type: T.FLOAT32 },
    "qwen2.rope.scaling.type": { value: "yarn", type: T.STRING },
    "qwen2.rope.scaling.factor": { value: 4, type: T.FLOAT32 },
    "qwen2.block_count": { value: 2n, type: T.UINT64 },
    "qwen2.use_parallel_residual": { value: true, type: T.BOOL },
    "qwen2.norm_eps": { value: 1e-6, type: T.FLOAT64 },
    "tokenizer.ggml.tokens": { value: ["a", "bc", "def", "<s>", "é"], type: T.ARRAY, subType: T.STRING },
    "tokenizer.ggml.token_type": { value: [1, 1, 1, 3, 1], type: T.ARRAY, subType: T.INT32 },
    "tokenizer.ggml.scores": { value: [0, -1, -2, 0, -3], type: T.ARRAY, subType: T.FLOAT32 },
  },
  tensors: [
    { name: "token_embd.weight", shape: [16, 5] },
    { name: "blk.0.attn_q.weight", shape: [16, 16] },
    { name: "blk.1.ffn_up.weight", shape: [16, 32] },
    { name: "output_norm.weight", shape: [16] },
  ],
  ...(alignment ? { alignment } : {}),
});
const bases = [params(), params(64)].map((p) => ({ bytes: makeGguf(p), headerLength: ggufHeaderBytes(p).header.length }));

function mutant(rand: () => number, base: Uint8Array, headerLength: number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = base.slice();
  const rounds = 1 + int(2);
  for (let r = 0; r < rounds; r++) {
    const at = int(headerLength);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (int(5)) {
      case 0:
        for (let i = 0, n = 1 + int(8); i < n; i++) b[int(headerLength)] ^= 1 << int(8);
        break;
      case 1: {
        const extremes = [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, BigInt(b.length), BigInt(b.length + 1), BigInt(int(2 ** 30))];
        if (at + 8 <= b.length) view.setBigUint64(at, extremes[int(extremes.length)], true);
        break;
      }
      case 2: {
        const values = [0, 7, 8, 9, 12, 13, 99, 2 ** 31, 2 ** 32 - 1, int(2 ** 32)];
        if (at + 4 <= b.length) view.setUint32(at, values[int(values.length)], true);
        break;
      }
      case 3:
        b = b.slice(0, int(b.length));
        break;
      default: {
        const n = 1 + int(16);
        b = rand() < 0.5
          ? Uint8Array.from([...b.subarray(0, at), ...Array.from({ length: n }, () => int(256)), ...b.subarray(at)])
          : Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
      }
    }
  }
  return b;
}

test("fuzz: 2,000 mutated headers end in a header or a GgufError, fast and with bounded memory", async () => {
  const seed = Number(process.env.YARNIFY_FUZZ_SEED ?? 20261125);
  const count = Number(process.env.YARNIFY_FUZZ_CASES ?? 2000);
  const rand = seededRandom(seed);
  const rssBefore = process.memoryUsage().rss;
  let parsed = 0;
  let slowest = 0;
  const problems = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const { bytes: base, headerLength } = bases[i % bases.length];
    const bytes = mutant(rand, base, headerLength);
    const started = performance.now();
    try {
      await readGgufHeader(openRemoteSource("https://fuzz.invalid/m.gguf", { fetch: bytesFetch(bytes).fetch }));
      parsed++;
    } catch (err) {
      if (!(err instanceof GgufError)) {
        assert.fail(`case ${i} (YARNIFY_FUZZ_SEED=${seed}): not a GgufError: ${(err as Error)?.stack ?? err}`);
      }
      assert.ok(!err.message.includes("\n"), `case ${i}: multi-line message`);
      problems.set(err.code, (problems.get(err.code) ?? 0) + 1);
    }
    slowest = Math.max(slowest, performance.now() - started);
  }
  const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  console.log(`     fuzz seed ${seed}: ${count} cases, ${parsed} parsed, errors ${JSON.stringify(Object.fromEntries(problems))}, slowest ${slowest.toFixed(0)} ms, RSS +${grown.toFixed(0)} MiB`);
  assert.ok(slowest < 2000, `a case took ${slowest} ms`);
  assert.ok(grown < 512, `RSS grew by ${grown} MiB`);
  assert.ok(problems.size >= 5, "the mutations reach several kinds of error");
}, { timeoutMs: 120_000 });
