// The full accuracy check: perplexity of the tiny model on all 24 eval docs at 256 and 512 tokens, every
// method of ../shared/reference/tiny-ppl-calibration.json (transformers 5.17), within 1% relative.
//   node dist/bench/eval-calibration.js [--device cpu|gpu|auto] [--contexts 256,512] [--docs 24] [--methods none,...,yarn_s16]
// Exits 1 when a figure is off by more than 1%. About 15 CPU-minutes on the CPU path.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { evaluate, type EvalDevice } from "../src/eval/evaluate.ts";
import type { EvalMethod } from "../src/eval/methods.ts";
import { loadTexts } from "../src/eval/texts.ts";
import { sharedPath } from "../test/support/shared.ts";

const { values } = parseArgs({
  options: {
    device: { type: "string", default: "cpu" },
    contexts: { type: "string", default: "256,512" },
    docs: { type: "string", default: "24" },
    methods: { type: "string", default: "none,pi,ntk,dynamic,yarn,yarn_s16" },
  },
});
const reference = JSON.parse(readFileSync(sharedPath("reference/tiny-ppl-calibration.json"), "utf8")) as { rows: Record<string, number>[] };
const texts = loadTexts(sharedPath("data/eval-docs.json")).slice(0, Number(values.docs));
const model = sharedPath("models/tiny-llama-py");
// The reference's method names → the evaluator's methods and fixed factor.
const ALL_METHODS: [string, EvalMethod, number | undefined][] = [
  ["none", "none", undefined], ["pi", "pi", undefined], ["ntk", "ntk", undefined],
  ["dynamic", "dynamic", undefined], ["yarn", "yarn", undefined], ["yarn_s16", "yarn", 16],
];
const wanted = values.methods!.split(",");
const METHODS = ALL_METHODS.filter((m) => wanted.includes(m[0]));
let worst = 0;
for (const context of values.contexts!.split(",").map(Number)) {
  const row = reference.rows.find((r) => r.context === context);
  // One evaluate() per factor setting, so methods that coincide at this length share their forward passes.
  for (const factor of [undefined, 16]) {
    const group = METHODS.filter((m) => m[2] === factor);
    if (group.length === 0) continue;
    const t0 = performance.now();
    const r = await evaluate({ model, texts, contexts: [context], methods: group.map((m) => m[1]), factor, device: values.device as EvalDevice });
    const seconds = (performance.now() - t0) / 1000;
    group.forEach(([name], i) => {
      const got = r.results[i]!.perplexity;
      const want = row?.[name];
      const rel = want === undefined ? NaN : (got - want) / want;
      if (Number.isFinite(rel)) worst = Math.max(worst, Math.abs(rel));
      console.log(`${context} ${name.padEnd(8)} ${got.toFixed(4)}  reference ${want ?? "-"}  rel ${(rel * 100).toFixed(4)}%  ${r.results[i]!.tokens} tokens  ${r.device}`);
    });
    console.log(`  (${group.length} method(s) in ${seconds.toFixed(1)} s)`);
  }
}
console.log(`worst relative difference ${(worst * 100).toFixed(4)}%`);
process.exit(worst <= 0.01 ? 0 : 1);
