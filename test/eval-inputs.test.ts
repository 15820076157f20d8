// The evaluator's inputs: HF directories (one file or shards; f32, f16, bf16), GGUF files (one file, split, over
// HTTP; F32, F16, BF16), a GGUF's own vocabulary tokenizing as llama.cpp does, ONNX refused. Where two inputs hold
// the same float32 values the evaluator must give the same NLL to the last bit.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "../src/eval/evaluate.ts";
import { ModelFormatError, YarnifyError } from "../src/core/errors.ts";
import { openGgufSource } from "../src/weights/gguf-source.ts";
import { ggufTokenizer } from "../src/eval/gguf-tokenizer.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { judged, loadJudge } from "./support/judge-cache.ts";
import { withRangeServer } from "./support/range-server.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture, writeSpmVocabGguf, writeVocabGguf, type FixtureWeights } from "./support/family-fixtures.ts";
import { toBf16 } from "./support/ggml-quantize.ts";
import { fromFloat16Bits, toFloat16Bits } from "../src/core/float16.ts";

const texts = evalDocs(1);
const L = 128;

async function meanNll(model: string): Promise<number> {
  const r = await evaluate({ model, texts, contexts: [L], device: "cpu" });
  return Math.log(r.results[0]!.perplexity);
}

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-inputs-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The weights as `dtype` stores them, back in float32 (all tensors, or the matrices only, as GGUF keeps vectors F32). */
function rounded(w: FixtureWeights, dtype: "F16" | "BF16", matricesOnly: boolean): FixtureWeights {
  const round = (x: Float32Array) => (dtype === "F16" ? fromFloat16Bits(toFloat16Bits(x)) : new Float32Array(Uint32Array.from(new Uint16Array(toBf16(x).buffer), (b) => b << 16).buffer));
  return new Map([...w].map(([n, t]) => [n, { shape: t.shape, data: matricesOnly && t.shape.length === 1 ? t.data : round(t.data) }]));
}

test("HF inputs: sharded safetensors equal one file; f16 and bf16 (HF and GGUF) read as the values they store", () =>
  withDir(async (dir) => {
    const f = FIXTURES.llama;
    const w = fixtureWeights(f);
    writeHfFixture(join(dir, "one"), f, w);
    writeHfFixture(join(dir, "sharded"), f, w, { shards: 3 });
    const f32 = await meanNll(join(dir, "one"));
    assert.equal(await meanNll(join(dir, "sharded")), f32);
    for (const dtype of ["F16", "BF16"] as const) {
      writeHfFixture(join(dir, dtype), f, w, { dtype });
      writeHfFixture(join(dir, `${dtype}-as-f32`), f, rounded(w, dtype, false));
      await writeGgufFixture(join(dir, `${dtype}.gguf`), f, w, dtype);
      await writeGgufFixture(join(dir, `${dtype}-as-f32.gguf`), f, rounded(w, dtype, true));
      const hf = await meanNll(join(dir, dtype));
      assert.equal(hf, await meanNll(join(dir, `${dtype}-as-f32`)), `${dtype} safetensors`);
      assert.equal(await meanNll(join(dir, `${dtype}.gguf`)), await meanNll(join(dir, `${dtype}-as-f32.gguf`)), `${dtype} GGUF`);
      assert.notEqual(hf, f32, `${dtype} weights read as the float32 ones`);
    }
  }), { timeoutMs: 120_000 });

test("GGUF inputs: a split model (gguf-split layout: metadata in shard 1 only) and URLs read with Range requests equal the local file", () =>
  withDir(async (dir) => {
    const f = FIXTURES.qwen3;
    const w = fixtureWeights(f);
    await writeGgufFixture(join(dir, "m.gguf"), f, w);
    mkdirSync(join(dir, "split"));
    await writeGgufFixture(join(dir, "split", "m-00001-of-00003.gguf"), f, w, "F32", { shards: 3 });
    const local = await meanNll(join(dir, "m.gguf"));
    assert.equal(await meanNll(join(dir, "split", "m-00001-of-00003.gguf")), local);
    await withRangeServer(dir, async (base) => {
      assert.equal(await meanNll(`${base}/m.gguf`), local);
      assert.equal(await meanNll(`${base}/split/m-00001-of-00003.gguf`), local);
      await assert.rejects(meanNll(`${base}/missing.gguf`), (e: unknown) => e instanceof YarnifyError && e.exitCode === 2 && /missing\.gguf: HTTP 404/.test(String(e)));
    });
  }), { timeoutMs: 120_000 });

test("an ONNX model is refused with the reason and what to evaluate instead", async () => {
  await assert.rejects(
    evaluate({ model: sharedPath("models/tiny-llama-py/onnx/model.onnx"), texts, contexts: [L], device: "cpu" }),
    (e: unknown) => e instanceof ModelFormatError && e.exitCode === 2 && /model\.onnx: the evaluator does not run ONNX graphs/.test(String(e)),
  );
});

const llama = await (await loadJudge("llama.cpp tokenizer test"))?.cpuLlama();

/**
 * Tokenizes `docs` with the vocabulary of the GGUF `file` both ways and asserts llama.cpp's ids; with `decodes`, also
 * llama.cpp's detokenization of the first document (a BPE vocabulary's detokenize cleans spaces before punctuation,
 * which ours, meant to give the text back, does not).
 */
async function sameTokens(file: string, docs: string[], what: string, decodes: boolean): Promise<void> {
  const source = await openGgufSource(file);
  const ours = ggufTokenizer(source.header);
  await source.close();
  // llama.cpp's ids for every document and, with `decodes`, its detokenization of the first document's ids.
  const theirs = await judged("llama.cpp tokenize", { files: [file], options: { docs, decodes } }, async () => {
    const model = await llama!.loadModel({ modelPath: file, vocabOnly: true });
    try {
      const ids = docs.map((text) => Array.from(model.tokenize(text), Number));
      return { ids, decoded: decodes ? model.detokenize(ids[0]! as unknown as Parameters<typeof model.detokenize>[0]) : undefined };
    } finally {
      await model.dispose();
    }
  });
  let tokens = 0;
  docs.forEach((text, i) => {
    const want = theirs.ids[i]!;
    assert.deepEqual(ours.encode(text), want, `${what}: document ${i}`);
    tokens += want.length;
  });
  // The first document's ids are llama.cpp's (asserted above), the ones it detokenized.
  const ids = ours.encode(docs[0]!);
  if (decodes) assert.equal(ours.decode(ids), theirs.decoded, `${what}: decoding`);
  else assert.equal(ours.decode(ids), docs[0], `${what}: decoding`);
  console.log(`     ${what}: ${tokens} tokens identical`);
}

if (llama) {
  test("a GGUF's own vocabulary gives llama.cpp's token ids on every eval document, for the gpt-2, llama3 and qwen2 pre-tokenizers", () =>
    withDir(async (dir) => {
      // 6000 characters of each of the 24 documents: about 1500 tokens each, every kind of code and prose in the set.
      const docs = evalDocs(24).map((t) => t.slice(0, 6000));
      for (const pre of ["gpt-2", "llama3", "qwen2"]) {
        const file = join(dir, `${pre}.gguf`);
        await writeVocabGguf(file, pre);
        await sameTokens(file, docs, pre, false);
      }
    }), { timeoutMs: 180_000 });

  test("a SentencePiece GGUF vocabulary (Llama 2, Mistral, Gemma, Phi-3) gives llama.cpp's token ids: merges by score, byte fallback, user-defined tokens, with and without the space prefix", () =>
    withDir(async (dir) => {
      // Characters outside the vocabulary (byte fallback) and a user-defined token (four spaces, cut out first).
      const docs = evalDocs(24).map((t, i) => (i === 0 ? "naïve café: 日本語 ☃ — ok\n" : "") + t.slice(0, 4000));
      for (const addSpacePrefix of [true, false]) {
        const file = join(dir, `spm-${addSpacePrefix}.gguf`);
        await writeSpmVocabGguf(file, { addSpacePrefix, userDefined: ["    "] });
        await sameTokens(file, docs, `space prefix ${addSpacePrefix}`, true);
      }
    }), { timeoutMs: 180_000 });
}
