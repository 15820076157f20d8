import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { readGgufVocab } from "./support/gguf-vocab.ts";
import { firstTokens, loadTokenizer } from "../src/eval/tokenizer.ts";

const modelDir = sharedPath("models/tiny-llama-py");

test("eval tokenizer: vocabulary and merges equal the GGUF's (llama.cpp's copy of the tokenizer)", () => {
  const gguf = readGgufVocab(sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf"));
  assert.equal(gguf.model, "gpt2");
  const json = JSON.parse(readFileSync(`${modelDir}/tokenizer.json`, "utf8")) as { model: { vocab: Record<string, number>; merges: (string | string[])[] } };
  const byId: string[] = [];
  for (const [tok, id] of Object.entries(json.model.vocab)) byId[id] = tok;
  byId[0] ??= "<|endoftext|>";
  assert.equal(gguf.tokens.length, byId.length);
  assert.deepEqual(gguf.tokens, byId);
  const merges = json.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  assert.deepEqual(gguf.merges, merges);
  const tok = loadTokenizer(modelDir);
  assert.equal(tok.vocabSize, 4096);
});

test("eval tokenizer: no BOS, decode(encode(text)) == text, prefix tokenization equals whole-text tokenization", () => {
  const tok = loadTokenizer(modelDir);
  const docs = (JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] }).docs;
  for (const { text } of docs.slice(0, 6)) {
    const head = text.slice(0, 6000);
    const ids = tok.encode(head);
    assert.notEqual(ids[0], 0, "a BOS (<|endoftext|>) was added");
    assert.equal(tok.decode(ids), head);
    // firstTokens cuts the text; its tokens must be those of the whole text.
    assert.deepEqual(firstTokens(tok, text, 300), tok.encode(text.slice(0, 20000)).slice(0, 300));
  }
  // Byte-level BPE: any string round-trips, including characters the training data never had.
  const odd = "héllo wörld — 你好 🙂\t\r\n  x";
  assert.equal(tok.decode(tok.encode(odd)), odd);
  // The special token in text is the special id, as the Rust tokenizers crate does.
  assert.deepEqual(tok.encode("<|endoftext|>"), [0]);
}, { timeoutMs: 60_000 });
