// Perplexity on the tiny model through evaluate() on the CPU. The full reference check (24 documents,
// every method, 256 and 512 tokens, against transformers' ../shared/reference/tiny-ppl-calibration.json)
// takes ~15 CPU-minutes and lives in bench/eval-calibration.ts; it matched to ≤ 0.003%. Here the same code
// path runs on the first few documents against the figures it produced for them then, plus the parts of
// the full check that are cheap (which methods coincide at the trained length).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { evaluate, EvalInputError } from "../src/eval/evaluate.ts";
import { ropeForMethod } from "../src/eval/methods.ts";
import { readHfShape } from "../src/eval/model/hf-shape.ts";
import { ModelFormatError } from "../src/core/errors.ts";

const model = sharedPath("models/tiny-llama-py");
const docs = (JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] }).docs.map((d) => d.text);

function close(got: number, want: number, what: string, rel = 1e-4): void {
  assert.ok(Math.abs(got - want) / want < rel, `${what}: ${got} vs ${want}`);
}

test("eval cpu: first 3 docs at 256 tokens, every method (plain RoPE at the trained length) and YaRN s=16", async () => {
  const r = await evaluate({ model, texts: docs.slice(0, 3), contexts: [256], methods: ["none", "pi", "ntk", "dynamic", "yarn", "dynamic-yarn", "model"], device: "cpu" });
  assert.equal(r.device, "cpu");
  assert.equal(r.results.length, 7);
  for (const x of r.results) {
    close(x.perplexity, 7.756483861920916, x.method);
    assert.equal(x.tokens, 3 * 255);
  }
  const s16 = await evaluate({ model, texts: docs.slice(0, 3), contexts: [256], methods: ["yarn"], factor: 16, device: "cpu" });
  close(s16.results[0]!.perplexity, 11.272261983779035, "yarn s=16");
}, { timeoutMs: 120_000 });

test("eval cpu: first doc at 512 tokens, none/pi/ntk/dynamic/yarn", async () => {
  const r = await evaluate({ model, texts: docs.slice(0, 1), contexts: [512], methods: ["none", "pi", "ntk", "dynamic", "yarn"], device: "cpu" });
  const want: Record<string, number> = { none: 21.506815433407372, pi: 19.456482756810043, ntk: 12.121826278125711, dynamic: 11.194018769060655, yarn: 11.119441005899576 };
  for (const x of r.results) {
    close(x.perplexity, want[x.method]!, x.method);
    assert.equal(x.tokens, 511);
  }
  // The paper's ordering on this model: extension beats none, YaRN beats PI and NTK.
  const p = Object.fromEntries(r.results.map((x) => [x.method, x.perplexity]));
  assert.ok(p.yarn! < p.dynamic! && p.dynamic! < p.ntk! && p.ntk! < p.pi! && p.pi! < p.none!);
}, { timeoutMs: 180_000 });

test("eval methods: frequencies come from the planner (NTK base b·s^(d/(d-2)), YaRN attention factor 0.1·ln s + 1)", () => {
  const spec = readHfShape(model).rope.spec;
  const ntk = ropeForMethod({ spec, method: "ntk", length: 512 });
  close(1 / ntk.invFreq[31]!, Math.pow(10000 * Math.pow(2, 64 / 62), 62 / 64), "ntk lowest frequency", 1e-6);
  const yarn = ropeForMethod({ spec, method: "yarn", length: 1024 });
  close(yarn.attentionFactor, 0.1 * Math.log(4) + 1, "yarn attention factor", 1e-6);
  const pi = ropeForMethod({ spec, method: "pi", length: 1024 });
  const none = ropeForMethod({ spec, method: "none", length: 1024 });
  pi.invFreq.forEach((f, j) => close(f, none.invFreq[j]! / 4, `pi pair ${j}`, 1e-6));
  // dynamic-yarn takes its factor from the length; a fixed --factor does not change it.
  assert.deepEqual(ropeForMethod({ spec, method: "dynamic-yarn", length: 1024, factor: 16 }), ropeForMethod({ spec, method: "yarn", length: 1024 }));
});

test("eval bad input: unsupported architecture, documents shorter than the context", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-eval-"));
  try {
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(model, f), join(dir, f));
    const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }));
    assert.throws(() => readHfShape(dir), (e: unknown) => e instanceof ModelFormatError && /GPT2LMHeadModel is not supported by the evaluator \(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM/.test((e as Error).message));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, attention_bias: true }));
    assert.throws(() => readHfShape(dir), /attention_bias is true/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const short = "def f():\n    return 1\n";
  const r = await evaluate({ model, texts: [short, docs[0]!.slice(0, 4000)], contexts: [64], device: "cpu" });
  assert.equal(r.results[0]!.docs, 1);
  assert.match(r.notes.join("\n"), /1 of 2 documents are shorter than 64 tokens and were skipped/);
  await assert.rejects(evaluate({ model, texts: [short], contexts: [64], device: "cpu" }), (e: unknown) => e instanceof EvalInputError && /no document has 64 tokens/.test((e as Error).message));
}, { timeoutMs: 60_000 });

test("eval sliding windows: one window equals the first-L protocol; more windows score every token once", async () => {
  const texts = docs.slice(0, 1);
  const first = await evaluate({ model, texts, contexts: [96], device: "cpu" });
  const one = await evaluate({ model, texts, contexts: [96], slidingStride: 48, slidingTokens: 96, device: "cpu" });
  assert.equal(one.mode, "sliding");
  close(one.results[0]!.perplexity, first.results[0]!.perplexity, "single window", 1e-12);
  const more = await evaluate({ model, texts, contexts: [96], slidingStride: 48, slidingTokens: 192, device: "cpu" });
  assert.equal(more.results[0]!.tokens, 191);
}, { timeoutMs: 60_000 });

test("eval on the tiny model's GGUFs: f32 gives the safetensors figures exactly, f16 within 1e-6 (YaRN at 256 is plain RoPE, at 512 ×2)", async () => {
  const texts = docs.slice(0, 1);
  const run = (m: string) => evaluate({ model: m, texts, contexts: [256, 512], methods: ["yarn"], device: "cpu" });
  const hf = await run(model);
  for (const [file, tolerance] of [["tiny-llama-f32.gguf", 0], ["tiny-llama-f16.gguf", 1e-6]] as const) {
    const g = await run(join(model, file));
    assert.deepEqual([g.format, g.family, g.dtype], ["gguf", "llama", file.includes("f32") ? "F32" : "F16"]);
    g.results.forEach((x, i) => {
      const want = hf.results[i]!;
      assert.deepEqual([x.method, x.context, x.tokens], [want.method, want.context, want.tokens]);
      assert.ok(Math.abs(x.perplexity / want.perplexity - 1) <= tolerance, `${file} ${x.method}@${x.context}: ${x.perplexity} vs ${want.perplexity}`);
    });
  }
}, { timeoutMs: 180_000 });
