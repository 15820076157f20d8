// One measured run for bench/onnx.ts, in its own process so its peak RSS is its own:
// args: SOURCE OUT_DIR FACTOR. Prints {"seconds":…, "peakRssBytes":…}.
import { readFileSync } from "node:fs";
import { inspectOnnx, patchOnnx } from "../converters/onnx/index.ts";
import { plan } from "../src/plan.ts";

const [source, out, factor] = process.argv.slice(2);
const started = performance.now();
const spec = inspectOnnx(source).spec;
const res = patchOnnx({ source, plan: plan(spec, { factor: Number(factor) }), out });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, peakRssBytes: peakRss(), model: res.model }));

/** VmHWM from /proc (Linux): the same measure for every runtime and for Python. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}
