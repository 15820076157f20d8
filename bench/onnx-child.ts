// One measured run for bench/onnx.ts, in its own process so its peak RSS is its own:
// args: SOURCE OUT_DIR FACTOR. Prints {"seconds":…, "peakRssBytes":…}.
import { inspectOnnx, patchOnnx } from "../converters/onnx/index.ts";
import { plan } from "../src/core/plan.ts";
import { peakRssBytes } from "./peak-rss.ts";

const [source, out, factor] = process.argv.slice(2);
const started = performance.now();
const spec = inspectOnnx(source).spec;
const res = patchOnnx({ source, plan: plan(spec, { factor: Number(factor) }), out });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, peakRssBytes: peakRssBytes(), model: res.model }));
