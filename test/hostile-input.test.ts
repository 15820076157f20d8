// Hostile input (issue 16, items 1, 3, 4, 5, 14, 15 and 16): config.json, GGUF and ONNX files crafted to crash, hang
// or escape end in one line naming the file and the key, with a documented exit code, and nothing written. Run
// in-process through the library (inspect, patch), as the CLI does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { EXIT_CODES, YarnifyError } from "../src/core/errors.ts";
import { compareEngines, disagreementLines } from "../src/core/engine-compare.ts";
import { MAX_CONFIG_BYTES } from "../src/core/io/read-text.ts";
import { MAX_JSON_DEPTH } from "../src/core/hf-config/json-text.ts";
import { readHfConfig } from "../src/core/hf-config/read.ts";
import { inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import type { EngineName, EngineView } from "../src/core/types.ts";
import { makeGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { FLOAT, externalise, int64Tensor, invFreqGraphNodes, plainInvFreq, tensor, valueInfo, writeModel } from "./support/onnx-fixtures.ts";

const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `yarnify-hostile-${tag}-`));

/** Awaits `run`, expects a YarnifyError with `code`, one line starting with `file`, matching `words`; returns it. */
async function refused(what: string, run: () => unknown, code: number, file: string, words: RegExp, maxMs = 3000): Promise<YarnifyError> {
  const started = performance.now();
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  const ms = performance.now() - started;
  assert.ok(caught instanceof YarnifyError, `${what}: expected a YarnifyError, got ${caught === undefined ? "success" : String((caught as Error)?.stack ?? caught)}`);
  assert.equal(caught.exitCode, code, `${what}: exit code of ${caught.message}`);
  assert.ok(!caught.message.includes("\n"), `${what}: one line: ${caught.message}`);
  assert.ok(caught.message.startsWith(`${file}: `), `${what}: names ${file}: ${caught.message}`);
  assert.match(caught.message, words, what);
  assert.ok(ms < maxMs, `${what}: took ${ms.toFixed(0)} ms`);
  return caught;
}

/** Nothing at `out`, and no temporary sibling of it. */
function nothingAt(out: string, what: string): void {
  assert.ok(!existsSync(out), `${what}: nothing written at ${out}`);
  const parent = dirname(out);
  const base = out.slice(parent.length + 1);
  assert.deepEqual(readdirSync(parent).filter((n) => n.startsWith(`.${base}.yarnify-`)), [], `${what}: no temporary or lock left`);
}

const GOOD = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 4096,
  num_attention_heads: 32,
  max_position_embeddings: 8192,
  rope_theta: 10000.0,
  rope_scaling: null,
};

/** A model folder whose config.json is `text`. */
function hfModel(text: string): { dir: string; file: string; out: string } {
  const root = tmp("hf");
  const dir = join(root, "model");
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), text);
  return { dir, file: join(dir, "config.json"), out: join(root, "out") };
}

/** inspect, patch and a dry run of `config` each refused with `code` naming config.json; nothing written. */
async function hfRefused(what: string, text: string, words: RegExp, code: number = EXIT_CODES.model.code, factor = 2): Promise<void> {
  const m = hfModel(text);
  try {
    if (code === EXIT_CODES.model.code) await refused(`${what} (inspect)`, () => inspect({ model: m.dir }), code, m.file, words);
    await refused(`${what} (dry run)`, () => patch({ model: m.dir, factor, out: m.out, dryRun: true }), code, code === EXIT_CODES.model.code ? m.file : m.dir, words);
    await refused(`${what} (patch)`, () => patch({ model: m.dir, factor, out: m.out }), code, code === EXIT_CODES.model.code ? m.file : m.dir, words);
    nothingAt(m.out, what);
  } finally {
    rmSync(dirname(m.dir), { recursive: true, force: true });
  }
}

const config = (patch: Record<string, unknown>) => JSON.stringify({ ...GOOD, ...patch }, null, 2);

test("item 3: keys and types named after Object.prototype members are plain data or one clean line", async () => {
  await hfRefused("type constructor", config({ rope_scaling: { type: "constructor", factor: 4 } }), /unknown rope type "constructor"/);
  await hfRefused("rope_type toString", config({ rope_scaling: { rope_type: "toString", factor: 4 } }), /unknown rope type "toString"/);
  await hfRefused("rope_type __proto__", config({ rope_scaling: { rope_type: "__proto__" } }), /unknown rope type "__proto__"/);
  await hfRefused("rope_type hasOwnProperty", config({ rope_parameters: { rope_type: "hasOwnProperty", rope_theta: 10000 } }), /unknown rope type "hasOwnProperty"/);
  await hfRefused("a type that is an object", config({ rope_scaling: { type: { length: 1 }, factor: 4 } }), /rope_scaling\.type must be a string, got an object/);
  await hfRefused("rope_scaling a string", config({ rope_scaling: "yarn" }), /rope_scaling must be an object or null, got the string "yarn"/);
  // "__proto__", "constructor" and "toString" as keys are ordinary keys: read, kept, written back in place.
  const text = config({ rope_scaling: null }).replace('"rope_scaling": null', '"rope_scaling": {"__proto__": {"rope_type": "yarn", "factor": 8}, "constructor": 1, "toString": "x"}');
  const m = hfModel(text);
  try {
    const info = await inspect({ model: m.dir });
    assert.equal(info.rope.method, "none", "a __proto__ key does not become the dict's prototype");
    await patch({ model: m.dir, factor: 2, out: m.out });
    const written = readFileSync(join(m.out, "config.json"), "utf8");
    assert.match(written, /"__proto__": \{\n\s+"rope_type": "yarn",\n\s+"factor": 8\n\s+\},\n\s+"constructor": 1,\n\s+"toString": "x",\n\s+"type": "yarn",\n\s+"rope_type": "yarn"/);
    assert.equal(readHfConfig(m.out).spec.context, 16384);
  } finally {
    rmSync(dirname(m.dir), { recursive: true, force: true });
  }
});

test("item 4: config.json values no engine can use are refused, naming the key", async () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["context 0", { max_position_embeddings: 0 }, /max_position_embeddings must be a whole number of tokens from 1 to 2147483647, got 0$/],
    ["context negative", { max_position_embeddings: -8192 }, /max_position_embeddings must be .*got -8192$/],
    ["context fractional", { max_position_embeddings: 8192.5 }, /max_position_embeddings must be .*got 8192\.5$/],
    ["context 1e300", { max_position_embeddings: 1e300 }, /max_position_embeddings must be .*got 1e\+300$/],
    ["context a string", { max_position_embeddings: "8192" }, /max_position_embeddings must be .*got the string "8192"$/],
    ["theta a string", { rope_theta: "10000" }, /rope_theta must be a number above 1 .*got the string "10000"$/],
    ["theta 1e308", { rope_theta: 1e308 }, /rope_theta must be a number above 1 and at most 1e\+12, got 1e\+308$/],
    ["theta 1", { rope_theta: 1 }, /rope_theta must be a number above 1/],
    ["head_dim a billion (hung the CLI)", { head_dim: 1e9 }, /head_dim must be a whole number from 1 to 65536, got 1000000000$/],
    ["hidden_size / heads a billion", { hidden_size: 1e9, num_attention_heads: 1 }, /hidden_size \/ num_attention_heads must be a whole number from 1 to 65536/],
    ["heads 0", { num_attention_heads: 0 }, /num_attention_heads must be a whole number from 1 to 65536, got 0$/],
    ["partial rotary 7", { partial_rotary_factor: 7 }, /partial_rotary_factor must be a number above 0 and at most 1, got 7$/],
    ["factor Infinity in the dict", { rope_scaling: { rope_type: "linear", factor: "Infinity" } }, /rope_scaling\.factor must be a positive number .*got the string "Infinity"$/],
    ["original context 0 in the dict", { rope_scaling: { rope_type: "yarn", factor: 2, original_max_position_embeddings: 0 } }, /rope_scaling\.original_max_position_embeddings must be a whole number of tokens/],
    ["a list where a number goes", { max_position_embeddings: [8192] }, /max_position_embeddings must be .*got a list$/],
  ];
  for (const [what, change, words] of cases) await hfRefused(what, config(change), words);
  // NaN and Infinity as Python writes them.
  await hfRefused("theta NaN", config({}).replace('"rope_theta": 10000', '"rope_theta": NaN'), /rope_theta must be .*got NaN$/);
  await hfRefused("context Infinity", config({}).replace('"max_position_embeddings": 8192', '"max_position_embeddings": Infinity'), /got Infinity$/);
});

test("item 5: JSON nested 100,000 levels deep is one line, exit 2, on every runtime", async () => {
  const deep = `{"rope_theta": 10000, "x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  await hfRefused("100,000 levels", deep, new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`));
  const objects = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
  await hfRefused("100,000 objects", objects, /nested deeper than 1000 levels/);
  // A key given twice: readers disagree on which counts.
  await hfRefused("a duplicated key", config({}).replace('"rope_theta": 10000', '"rope_theta": 10000,\n  "rope_theta": 500000'), /duplicated key "rope_theta"/);
  // Just under the cap still reads.
  const ok = hfModel(`{"rope_theta": 10000, "head_dim": 64, "max_position_embeddings": 256, "x": ${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`);
  try {
    assert.equal((await inspect({ model: ok.dir })).rope.context, 256);
  } finally {
    rmSync(dirname(ok.dir), { recursive: true, force: true });
  }
});

test("item 14: a FIFO, /dev/zero or a 200 MB config.json is refused at once", async () => {
  const root = tmp("special");
  try {
    const zero = join(root, "zero");
    mkdirSync(zero);
    symlinkSync("/dev/zero", join(zero, "config.json"));
    await refused("config.json linked to /dev/zero", () => inspect({ model: zero }), 2, join(zero, "config.json"), /not a regular file/, 1000);
    const big = join(root, "big");
    mkdirSync(big);
    writeFileSync(join(big, "config.json"), "[1");
    truncateSync(join(big, "config.json"), 200 * 1024 * 1024); // sparse: the size is refused before a byte is read
    await refused("a 200 MB config.json", () => inspect({ model: big }), 2, join(big, "config.json"), /209715200 bytes is larger than the 16 MiB a config file may have/, 1000);
    assert.equal(MAX_CONFIG_BYTES, 16 * 1024 * 1024);
    const fifo = join(root, "fifo");
    mkdirSync(fifo);
    let made = true;
    try {
      execFileSync("mkfifo", [join(fifo, "config.json")]);
    } catch {
      made = false; // no mkfifo on this system
    }
    if (made) {
      await refused("a FIFO config.json", () => inspect({ model: fifo }), 2, join(fifo, "config.json"), /not a regular file/, 1000);
      // A FIFO beside a good config.json is refused before anything is written (its copy would block forever).
      writeFileSync(join(root, "config.json"), config({}));
      const model = join(root, "withfifo");
      mkdirSync(model);
      writeFileSync(join(model, "config.json"), config({}));
      execFileSync("mkfifo", [join(model, "tokenizer_config.json")]);
      await refused("a FIFO beside config.json", () => patch({ model, factor: 2, out: join(root, "out") }), 2, join(model, "tokenizer_config.json"), /not a regular file/, 1000);
      nothingAt(join(root, "out"), "a FIFO beside config.json");
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("item 15: --factor 1e308 and 1.0000001 are refused as plans (exit 3) naming the model, nothing written", async () => {
  await hfRefused("factor 1e308", config({}), /target context .* is more than 2147483647 tokens/, EXIT_CODES.plan.code, 1e308);
  await hfRefused("factor 1.0000001", config({}), /factor 1\.0000001 does not grow the context: 8192 tokens × 1\.0000001 is still 8192 tokens/, EXIT_CODES.plan.code, 1.0000001);
  const m = hfModel(config({}));
  try {
    await refused("context 2^31", () => patch({ model: m.dir, context: 2 ** 31, out: m.out }), 3, m.dir, /more than 2147483647 tokens/);
    nothingAt(m.out, "context 2^31");
  } finally {
    rmSync(dirname(m.dir), { recursive: true, force: true });
  }
});

test("item 15: engine reports never say transformers reads something differently from transformers", () => {
  const good: EngineView = { invFreq: [1, 0.1], attentionFactor: 1, warnings: [] };
  const views = { transformers: { invFreq: [Number.NaN, Number.NaN], attentionFactor: Number.NaN, warnings: ["yarn scaling needs a factor"] }, llamacpp: good, vllm: good, ortGenai: good, mlx: good } as Record<EngineName, EngineView>;
  const reports = compareEngines(views);
  // A reference that computes nothing is listed as failing, not as agreeing (issue 15: Phi-3 with yarn).
  assert.equal(reports.transformers.agrees, false, "the reference does not agree when it cannot compute");
  const lines = disagreementLines(reports, "hf");
  assert.ok(!lines.some((l) => l.startsWith("transformers reads")), lines.join("\n"));
  assert.match(lines[0], /^transformers cannot compute finite frequencies from these parameters: yarn scaling needs a factor$/);
});

// ---- GGUF ----

const T = GGUFValueType;
type Kv = Record<string, { value: unknown; type: GGUFValueType; subType?: GGUFValueType }>;
const GGUF_KV: Kv = {
  "llama.context_length": { value: 4096, type: T.UINT32 },
  "llama.embedding_length": { value: 256, type: T.UINT32 },
  "llama.attention.head_count": { value: 4, type: T.UINT32 },
  "llama.rope.dimension_count": { value: 64, type: T.UINT32 },
  "llama.rope.freq_base": { value: 10000, type: T.FLOAT32 },
};
const gguf = (kv: Kv) => makeGguf({ arch: "llama", kv: kv as Parameters<typeof makeGguf>[0]["kv"], tensors: [{ name: "a", shape: [64, 3] }] });

async function ggufRefused(what: string, bytes: Uint8Array, words: RegExp): Promise<void> {
  const root = tmp("gguf");
  const file = join(root, "model.gguf");
  const out = join(root, "out.gguf");
  writeFileSync(file, bytes);
  try {
    await refused(`${what} (inspect)`, () => inspect({ model: file }), 2, file, words);
    await refused(`${what} (dry run)`, () => patch({ model: file, factor: 2, out, dryRun: true }), 2, file, words);
    await refused(`${what} (patch)`, () => patch({ model: file, factor: 2, out }), 2, file, words);
    nothingAt(out, what);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("item 4: GGUF values no engine can use are refused, naming the key", async () => {
  const without = (key: string) => Object.fromEntries(Object.entries(GGUF_KV).filter(([k]) => k !== key));
  const cases: Array<[string, Kv, RegExp]> = [
    ["context_length 0", { ...GGUF_KV, "llama.context_length": { value: 0, type: T.UINT32 } }, /llama\.context_length must be a whole number of tokens from 1 to 2147483647, got 0$/],
    ["context_length missing", without("llama.context_length"), /no llama\.context_length/],
    ["context_length 2^32-1", { ...GGUF_KV, "llama.context_length": { value: 2 ** 32 - 1, type: T.UINT32 } }, /llama\.context_length must be .*got 4294967295$/],
    ["freq_base 0", { ...GGUF_KV, "llama.rope.freq_base": { value: 0, type: T.FLOAT32 } }, /llama\.rope\.freq_base must be a number above 1 and at most 1e\+12, got 0$/],
    ["freq_base negative", { ...GGUF_KV, "llama.rope.freq_base": { value: -10000, type: T.FLOAT32 } }, /llama\.rope\.freq_base must be .*got -10000$/],
    ["freq_base infinite", { ...GGUF_KV, "llama.rope.freq_base": { value: Infinity, type: T.FLOAT32 } }, /llama\.rope\.freq_base must be .*got Infinity$/],
    ["freq_base a string", { ...GGUF_KV, "llama.rope.freq_base": { value: "10000", type: T.STRING } }, /llama\.rope\.freq_base must be a number, got the string "10000"$/],
    ["dimension_count odd", { ...GGUF_KV, "llama.rope.dimension_count": { value: 63, type: T.UINT32 } }, /llama\.rope\.dimension_count must be an even whole number from 2 to 65536, got 63$/],
    ["dimension_count 0", { ...GGUF_KV, "llama.rope.dimension_count": { value: 0, type: T.UINT32 } }, /llama\.rope\.dimension_count must be .*got 0$/],
    ["dimension_count huge (hung the CLI)", { ...GGUF_KV, "llama.rope.dimension_count": { value: 2 ** 31, type: T.UINT32 } }, /llama\.rope\.dimension_count must be .*got 2147483648$/],
    ["dimension_count above the head dim", { ...GGUF_KV, "llama.rope.dimension_count": { value: 128, type: T.UINT32 } }, /llama\.rope\.dimension_count 128 is larger than llama\.embedding_length \/ llama\.attention\.head_count 64$/],
    ["head_count 0", { ...GGUF_KV, "llama.attention.head_count": { value: 0, type: T.UINT32 } }, /llama\.attention\.head_count must be a whole number from 1 to 65536, got 0$/],
    ["scaling factor NaN", { ...GGUF_KV, "llama.rope.scaling.type": { value: "linear", type: T.STRING }, "llama.rope.scaling.factor": { value: NaN, type: T.FLOAT32 } }, /llama\.rope\.scaling\.factor must be .*got NaN$/],
    ["scaling type a number", { ...GGUF_KV, "llama.rope.scaling.type": { value: 2, type: T.UINT32 } }, /llama\.rope\.scaling\.type must be a string, got 2$/],
  ];
  for (const [what, kv, words] of cases) await ggufRefused(what, gguf(kv), words);
});

/** A GGUF with key `twin` written twice: a key of the same length is added, then renamed in the bytes. */
function withDuplicate(twin: string, value: { value: unknown; type: GGUFValueType }): Uint8Array {
  const stand = twin.slice(0, -1) + (twin.endsWith("Z") ? "Y" : "Z");
  const bytes = gguf({ ...GGUF_KV, [stand]: value });
  const enc = new TextEncoder();
  const needle = enc.encode(stand);
  for (let i = 0; i + needle.length <= bytes.length; i++) {
    if (needle.every((b, k) => bytes[i + k] === b)) {
      bytes.set(enc.encode(twin), i);
      return bytes;
    }
  }
  throw new Error("key not found");
}

test("item 15: a GGUF with a key given twice (context_length, general.architecture) is refused", async () => {
  await ggufRefused("context_length twice", withDuplicate("llama.context_length", { value: 8192, type: T.UINT32 }), /key "llama\.context_length" appears twice in the header/);
  await ggufRefused("architecture twice", withDuplicate("general.architecture", { value: "qwen2", type: T.STRING }), /key "general\.architecture" appears twice in the header/);
});

// ---- ONNX ----

/** An inv_freq graph with one more initializer, "w", whose data is external at `location`. */
function onnxWithExternal(location: string, write?: (dir: string, bytes: Uint8Array) => void): { dir: string; model: string; out: string } {
  const root = tmp("onnx");
  const dir = join(root, "m");
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: 256, head_dim: 64, rope_theta: 10000 }));
  const w = tensor("w", [16], FLOAT, Array.from({ length: 16 }, (_, i) => i));
  const bytes = externalise(w, location, 0);
  write?.(dir, bytes);
  const model = join(dir, "model.onnx");
  writeModel({
    path: model,
    nodes: invFreqGraphNodes({ inv: "inv" }),
    initializers: [tensor("inv", [1, 32, 1], FLOAT, plainInvFreq(10000, 64)), int64Tensor("axes_1", [1]), w],
    inputs: [valueInfo("position_ids", 7, [1, "s"])],
    outputs: [valueInfo("cos", FLOAT, [1, "s", 64]), valueInfo("sin", FLOAT, [1, "s", 64])],
  });
  return { dir, model, out: join(root, "out") };
}

async function onnxRefused(what: string, m: { dir: string; model: string; out: string }, words: RegExp, inspectToo = true, file = m.model): Promise<void> {
  try {
    if (inspectToo) await refused(`${what} (inspect)`, () => inspect({ model: m.model }), 2, file, words);
    await refused(`${what} (dry run)`, () => patch({ model: m.model, factor: 4, out: m.out, dryRun: true }), 2, file, words);
    await refused(`${what} (patch)`, () => patch({ model: m.model, factor: 4, out: m.out }), 2, file, words);
    nothingAt(m.out, what);
  } finally {
    rmSync(dirname(m.dir), { recursive: true, force: true });
  }
}

test("item 1: ONNX external data outside the model's folder is refused in inspect, dry run and patch", async () => {
  const outside = tmp("secret");
  try {
    writeFileSync(join(outside, "x"), new Uint8Array(64));
    await onnxRefused("../../x", onnxWithExternal("../../x"), /external data location "\.\.\/\.\.\/x" of tensor "w" points outside the model's folder; a graph may only reference files inside its own folder$/);
    await onnxRefused("sub/../../x", onnxWithExternal("sub/../../x"), /points outside the model's folder/);
    await onnxRefused("an absolute path", onnxWithExternal("/etc/passwd"), /external data location "\/etc\/passwd" of tensor "w" is an absolute path/);
    await onnxRefused("a symlink out", onnxWithExternal("w.bin", (dir) => symlinkSync(join(outside, "x"), join(dir, "w.bin"))), /external data location "w\.bin" of tensor "w" resolves to .*, outside the model's folder/);
    // A symlink to a file inside the folder, and a subfolder, are fine.
    const inside = onnxWithExternal("data/w.bin", (dir, bytes) => {
      mkdirSync(join(dir, "data"));
      writeFileSync(join(dir, "data", "real.bin"), bytes);
      symlinkSync(join(dir, "data", "real.bin"), join(dir, "data", "w.bin"));
    });
    try {
      await patch({ model: inside.model, factor: 4, out: inside.out });
      assert.ok(existsSync(join(inside.out, "data", "w.bin")));
    } finally {
      rmSync(dirname(inside.dir), { recursive: true, force: true });
    }
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test("item 16: ONNX external data shorter than the graph needs is refused, nothing carried over", async () => {
  const short = onnxWithExternal("w.bin", (dir, bytes) => writeFileSync(join(dir, "w.bin"), bytes.subarray(0, 10)));
  // inspect reads only the rotary tensors; the patch carries w.bin and must find it whole.
  await onnxRefused("w.bin cut to 10 bytes", short, /external data file "w\.bin" has 10 bytes but tensor "w" needs 64: truncated\?$/, false);
  const bad = onnxWithExternal("w.bin", (dir, bytes) => writeFileSync(join(dir, "w.bin"), bytes));
  // An offset that is not a byte count.
  const text = readFileSync(bad.model);
  const at = text.indexOf(Buffer.from("offset"));
  assert.ok(at > 0);
  // "0" (the offset's value, after its field tag and length) becomes "x".
  const patched = Buffer.from(text);
  const zero = patched.indexOf(Buffer.from("0"), at + 6);
  patched[zero] = "x".charCodeAt(0);
  writeFileSync(bad.model, patched);
  await onnxRefused("offset x", bad, /external data offset of tensor "w" is "x", not a byte count$/);
});

test("item 4: an ONNX graph's context from a sidecar goes through the same bounds", async () => {
  const m = onnxWithExternal("w.bin", (dir, bytes) => writeFileSync(join(dir, "w.bin"), bytes));
  writeFileSync(join(m.dir, "config.json"), JSON.stringify({ max_position_embeddings: 0, head_dim: 64, rope_theta: 10000 }));
  await onnxRefused("max_position_embeddings 0 beside the graph", m, /the context \(from .*config\.json\) must be a whole number of tokens from 1 to 2147483647, got 0$/);
  const g = onnxWithExternal("w.bin", (dir, bytes) => writeFileSync(join(dir, "w.bin"), bytes));
  writeFileSync(join(g.dir, "genai_config.json"), JSON.stringify({ model: { context_length: 1e300 } }));
  await onnxRefused("genai context_length 1e300", g, /the context \(from .*genai_config\.json\) must be .*got 1e\+300$/);
  const deep = onnxWithExternal("w.bin", (dir, bytes) => writeFileSync(join(dir, "w.bin"), bytes));
  writeFileSync(join(deep.dir, "genai_config.json"), `{"model": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
  await onnxRefused("genai_config.json 100,000 levels deep", deep, /: not valid JSON \(invalid JSON at line 1: nested deeper than 1000 levels\)$/, true, join(deep.dir, "genai_config.json"));
});
