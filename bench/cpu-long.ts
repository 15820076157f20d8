// The CPU evaluator's long window: the tiny model at 8192 tokens with YaRN ×32 (trained on 256), one forward pass
// and every position's NLL, with the process's peak RSS (goal: under 1 GiB; attention is tiled, nothing is
// context² in size).
// Run: node_modules/.bin/bun bench/cpu-long.ts [tokens]   (or deno run -A bench/cpu-long.ts)
import { runtimeName } from "../src/core/runtime.ts";
import { nllCpu } from "../src/eval/cpu/forward.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { loadDocs } from "../test/support/onnx-perplexity.ts";
import { sharedPath } from "../test/support/shared.ts";
import { peakRssBytes } from "./peak-rss.ts";

const L = Number(process.argv[2] ?? 8192);
const ck = await openCheckpoint(sharedPath("models/tiny-llama-py"));
const tokenizer = ck.tokenizer();
const weights = await loadWeights(ck);
await ck.close();
// The documents' tokens end to end: no single document has 8192.
const all: number[] = [];
for (const d of loadDocs(sharedPath("data/eval-docs.json"))) {
  if (all.length >= L) break;
  all.push(...tokenizer.encode(d.text));
}
if (all.length < L) throw new Error(`the documents have ${all.length} tokens, ${L} asked for`);
const factor = L / 256;
const t0 = performance.now();
const nll = nllCpu(weights, { tokens: Int32Array.from(all.slice(0, L)), rope: modelRopeFor(ck.rope, "yarn", L, factor), firstTarget: 1 });
const secs = (performance.now() - t0) / 1000;
const ppl = Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
console.log(`${runtimeName()}: ${L} tokens, YaRN ×${factor}: perplexity ${ppl.toFixed(4)}, ${secs.toFixed(1)} s (${(L / secs).toFixed(0)} tok/s), peak RSS ${(peakRssBytes() / 2 ** 20).toFixed(0)} MiB`);
