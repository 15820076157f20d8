// Token ids of the evaluator's tokenizer (@huggingface/tokenizers on tokenizer.json) against llama.cpp's
// tokenizer on the tiny model's GGUF, over every eval doc in full. node-llama-cpp is not a dependency:
//   npm install --no-save --ignore-scripts node-llama-cpp@3.22.1 && npx tsc -p tsconfig.build.json && node dist/bench/eval-tokenizer-llamacpp.js
// (Node only: node-llama-cpp is a Node addon.) Exits 1 when any document differs.
import { loadTokenizer } from "../src/eval/tokenizer.ts";
import { loadTexts } from "../src/eval/texts.ts";
import { sharedPath } from "../test/support/shared.ts";

interface LlamaCpp {
  getLlama(o: { gpu: false; build: "never" }): Promise<{
    loadModel(o: { modelPath: string; vocabOnly: boolean }): Promise<{ tokenize(text: string, special: boolean): readonly number[]; dispose(): Promise<void> }>;
  }>;
}

const specifier = "node-llama-cpp";
let mod: LlamaCpp;
try {
  mod = (await import(specifier)) as LlamaCpp;
} catch {
  console.error("node-llama-cpp is not installed: npm install --no-save --ignore-scripts node-llama-cpp@3.22.1");
  process.exit(2);
}
const llama = await mod.getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf"), vocabOnly: true });
const tok = loadTokenizer(sharedPath("models/tiny-llama-py"));
let same = 0;
let tokens = 0;
const docs = loadTexts(sharedPath("data/eval-docs.json"));
for (const [i, text] of docs.entries()) {
  const a = [...model.tokenize(text, false)];
  const b = tok.encode(text);
  tokens += b.length;
  const firstDiff = a.findIndex((x, j) => x !== b[j]);
  if (a.length === b.length && firstDiff === -1) same++;
  else console.log(`doc ${i}: llama.cpp ${a.length} tokens, ours ${b.length}, first difference at ${firstDiff}`);
}
console.log(`llama.cpp vs @huggingface/tokenizers: ${same}/${docs.length} documents identical (${tokens} tokens)`);
await model.dispose();
process.exit(same === docs.length ? 0 : 1);
