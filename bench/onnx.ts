// Patch time and peak RSS of yarnify's ONNX patcher on a generated model with ~1 GB of inline initializers,
// against Debian's python3-onnx doing onnx.load + onnx.save of the same file (the usual Python round trip).
// Needs: apt-get install python3-onnx (the bench uses /usr/bin/python3). Targets: faster than Python, peak RSS
// ≤ 1.5× the file size.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/onnx.js [SIZE_MB]   (or: bun bench/onnx.ts, deno run -A bench/onnx.ts)
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import onnxProto from "onnx-proto";
import { inspectOnnx } from "../converters/onnx/index.ts";
import { encodeValues } from "../converters/onnx/tensor.ts";
import { concatBytes, encodeVarint, lenField, stringField, varintField } from "../converters/onnx/wire.ts";
import { runtimeName } from "../src/core/runtime.ts";

const { onnx } = onnxProto;
const sizeMb = Number(process.argv[2] ?? 1024);
const CONTEXT = 4096;
const HALF = 64;
const WEIGHT_MB = 16;
const FLOAT16 = 10;

/** An ORT GenAI-style graph: RotaryEmbedding with float16 caches [4096, 64], plus `sizeMb` of float16 weights. */
function generate(path: string): void {
  const f = Math.fround;
  const cos: number[] = [];
  const sin: number[] = [];
  for (let p = 0; p < CONTEXT; p++) {
    for (let j = 0; j < HALF; j++) {
      const a = f(f(1 / f(10000 ** ((2 * j) / (2 * HALF)))) * p);
      cos.push(Math.cos(a));
      sin.push(Math.sin(a));
    }
  }
  const cache = (name: string, values: number[]) =>
    lenField(5, concatBytes([varintField(1, CONTEXT), varintField(1, HALF), varintField(2, FLOAT16), stringField(8, name), lenField(9, encodeValues(values, FLOAT16))]));
  const rotary = onnx.NodeProto.encode({
    opType: "RotaryEmbedding", domain: "com.microsoft", name: "rope", input: ["x", "position_ids", "cos_cache", "sin_cache"], output: ["y"],
  }).finish();
  const vi = (name: string, elemType: number) => lenField(1, onnx.ValueInfoProto.encode({ name, type: { tensorType: { elemType } } }).finish());
  const head = concatBytes([lenField(1, rotary), stringField(2, "bench"), cache("cos_cache", cos), cache("sin_cache", sin)]);
  const tail = concatBytes([lenField(11, vi("x", FLOAT16)), lenField(11, vi("position_ids", 7)), lenField(12, vi("y", FLOAT16))]);
  const weightBytes = WEIGHT_MB << 20;
  const count = Math.max(1, Math.round(sizeMb / WEIGHT_MB));
  const weightHeader = (i: number) =>
    concatBytes([varintField(1, weightBytes / 2), varintField(2, FLOAT16), stringField(8, `layer.${i}.weight`), encodeVarint(9 * 8 + 2), encodeVarint(weightBytes)]);
  const weightField = (i: number) => {
    const h = weightHeader(i);
    return concatBytes([encodeVarint(5 * 8 + 2), encodeVarint(h.length + weightBytes), h]);
  };
  let graphLength = head.length + tail.length;
  for (let i = 0; i < count; i++) graphLength += weightField(i).length + weightBytes;
  const model = concatBytes([
    varintField(1, 8),
    lenField(8, concatBytes([stringField(1, ""), varintField(2, 18)])),
    lenField(8, concatBytes([stringField(1, "com.microsoft"), varintField(2, 1)])),
    stringField(2, "yarnify-bench"),
    encodeVarint(7 * 8 + 2),
    encodeVarint(graphLength),
  ]);
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(weightBytes);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  try {
    writeSync(fd, model);
    writeSync(fd, head);
    for (let i = 0; i < count; i++) {
      writeSync(fd, weightField(i));
      writeSync(fd, chunk);
    }
    writeSync(fd, tail);
  } finally {
    closeSync(fd);
  }
}

interface Measure {
  seconds: number;
  peakRssBytes: number;
}

function run(cmd: string, args: string[]): Measure {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.error}`);
  const last = r.stdout.trim().split("\n").pop() as string;
  return JSON.parse(last) as Measure;
}

function ours(source: string, out: string): Measure {
  const here = dirname(fileURLToPath(import.meta.url));
  const rt = runtimeName();
  if (rt === "deno") {
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
    return run(deno, ["run", "-A", join(here, "onnx-child.ts"), source, out, "4"]);
  }
  return run(process.execPath, [join(here, rt === "node" ? "onnx-child.js" : "onnx-child.ts"), source, out, "4"]);
}

const PYTHON = `
import json, re, sys, time, onnx
t = time.perf_counter()
m = onnx.load(sys.argv[1])
onnx.save(m, sys.argv[2])
s = time.perf_counter() - t
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
print(json.dumps({"seconds": s, "peakRssBytes": hwm}))
`;

const dir = mkdtempSync(join(tmpdir(), "yarnify-onnx-bench-"));
try {
  mkdirSync(join(dir, "src"));
  const source = join(dir, "src", "model.onnx");
  const t0 = performance.now();
  generate(source);
  const size = statSync(source).size;
  console.log(`generated ${(size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${source}`);
  const mine = ours(source, join(dir, "out"));
  const patched = inspectOnnx(join(dir, "out", "model.onnx"));
  if (patched.found.cacheRows !== 4 * CONTEXT) throw new Error(`patched cache has ${patched.found.cacheRows} rows`);
  rmSync(join(dir, "out"), { recursive: true, force: true });
  const py = run("/usr/bin/python3", ["-c", PYTHON, source, join(dir, "py.onnx")]);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`runtime ${runtimeName()}, file ${mb(size)}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`yarnify patch (factor 4, caches 4096 -> 16384 rows): ${mine.seconds.toFixed(2)} s, peak RSS ${mb(mine.peakRssBytes)} (${(mine.peakRssBytes / size).toFixed(2)}x file)`);
  console.log(`python3-onnx load+save:                            ${py.seconds.toFixed(2)} s, peak RSS ${mb(py.peakRssBytes)} (${(py.peakRssBytes / size).toFixed(2)}x file)`);
  console.log(`ratio python/yarnify: time ${(py.seconds / mine.seconds).toFixed(1)}x, peak RSS ${(py.peakRssBytes / mine.peakRssBytes).toFixed(1)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
