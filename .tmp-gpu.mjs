import { evaluate } from "/work/wt-eval/dist/src/eval/evaluate.js";
import { readFileSync } from "node:fs";
const docs = JSON.parse(readFileSync("/work/shared/data/eval-docs.json","utf8")).docs.slice(0, Number(process.argv[2] ?? 2)).map((d ) => d.text);
const t0 = performance.now();
const r = await evaluate({ model: "/work/shared/models/tiny-llama-py", texts: docs, contexts: (process.argv[3] ?? "256").split(",").map(Number), methods: (process.argv[4] ?? "none").split(","), device: (process.argv[5] ?? "gpu"), precision: (process.argv[6] ?? "auto") });
console.log(r.device, JSON.stringify(r.results), r.notes, (performance.now() - t0) / 1000);
