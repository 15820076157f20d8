// Models the evaluator cannot run: an unknown architecture (config.json or GGUF), a missing tensor, a tensor whose
// shape the config contradicts, a quantization it does not decode. `eval` and `patch --eval` both answer with one
// line naming the file and the problem, exit 2, and write nothing (no plot, no patched copy).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { runCli } from "./support/cli-run.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture } from "./support/family-fixtures.ts";

/** Runs `fn` with a fresh folder holding docs.jsonl, removed afterwards. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-eval-bad-"));
  try {
    writeFileSync(join(dir, "docs.jsonl"), JSON.stringify({ text: evalDocs(1)[0]!.slice(0, 2000) }) + "\n");
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `eval` and `patch --eval` on `model`: exit 2, one stderr line `yarnify: <file>: <problem>`, nothing written. */
function refused(dir: string, model: string, file: string, problem: RegExp): void {
  const docs = join(dir, "docs.jsonl");
  const plot = join(dir, "plot.svg");
  const out = join(dir, "patched");
  for (const args of [
    ["eval", model, "--text", docs, "--context", "64", "--device", "cpu", "--plot", plot],
    ["patch", model, "--factor", "2", "--out", out, "--eval", docs, "--eval-context", "64"],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args[0]} ${model}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`yarnify: ${file}: `), lines[0]);
    assert.match(lines[0]!, problem);
    assert.ok(!existsSync(plot) && !existsSync(out) && !existsSync(`${out}.gguf`), `${args[0]} wrote output for ${model}`);
  }
}

const f = FIXTURES.llama;
const w = fixtureWeights(f);

test("an unknown architecture: the line names it and the supported list (config.json and GGUF)", () => withDir(async (dir) => {
  const hf = join(dir, "gpt2");
  writeHfFixture(hf, f, w);
  writeFileSync(join(hf, "config.json"), JSON.stringify({ ...f.config, architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }));
  refused(dir, hf, join(hf, "config.json"), /architecture GPT2LMHeadModel is not supported by the evaluator \(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, Gemma3ForConditionalGeneration, Phi3ForCausalLM\)$/);
  // The Llama fixture's tensors and keys under an architecture llama.cpp has but the evaluator does not run.
  const gguf = join(dir, "phi2.gguf");
  await writeGgufFixture(gguf, { ...f, arch: "phi2" }, w);
  refused(dir, gguf, gguf, /GGUF architecture phi2 is not supported by the evaluator \(supported: llama, qwen2, qwen3, gemma3, phi3\)$/);
}), { timeoutMs: 120_000 });

test("a missing tensor, a shape the config contradicts, a quantization not decoded: each named with its file", () => withDir(async (dir) => {
  const missing = new Map(w);
  missing.delete("model.layers.1.mlp.down_proj.weight");
  const hf = join(dir, "missing");
  writeHfFixture(hf, f, missing);
  refused(dir, hf, hf, /tensor model\.layers\.1\.mlp\.down_proj\.weight is missing \(layer 1 down\)$/);
  const gguf = join(dir, "missing.gguf");
  await writeGgufFixture(gguf, f, missing);
  refused(dir, gguf, gguf, /tensor blk\.1\.ffn_down\.weight is missing \(layer 1 down\)$/);

  const narrow = { ...f, config: { ...f.config, intermediate_size: 96 } };
  const hfShape = join(dir, "shape");
  writeHfFixture(hfShape, narrow, w);
  refused(dir, hfShape, hfShape, new RegExp(`tensor model\\.layers\\.0\\.mlp\\.gate_proj\\.weight has shape \\[128,64\\], the ${join(hfShape, "config.json").replace(/[.]/g, "\\.")} implies \\[96,64\\] \\(layer 0 gate\\)$`));
  const ggufShape = join(dir, "shape.gguf");
  await writeGgufFixture(ggufShape, narrow, w);
  refused(dir, ggufShape, ggufShape, /tensor blk\.0\.ffn_gate\.weight has shape \[128,64\], the GGUF header implies \[96,64\] \(layer 0 gate\)$/);

  const q2 = join(dir, "q2k.gguf");
  await writeGgufFixture(q2, FIXTURES["llama-q"], fixtureWeights(FIXTURES["llama-q"]), "Q2_K");
  refused(dir, q2, q2, /tensor \S+ is Q2_K, a quantization yarnify does not decode \(F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16\)$/);
}), { timeoutMs: 180_000 });
