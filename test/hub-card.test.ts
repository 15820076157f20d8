// The model card: front matter, the parameter table from a Plan, engine instructions, validation, source card kept.
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { cardLicense, commitMessageFor, renderModelCard, splitFrontMatter } from "../src/hub/model-card.ts";
import type { Plan } from "../src/core/types.ts";

// A hand-written plan in the shape src/core/plan.ts returns (values of Qwen2.5-7B at factor 4).
const PLAN: Plan = {
  source: { theta: 1_000_000, headDim: 128, rotaryDim: 128, context: 32768, scaling: { method: "none" } },
  method: "yarn",
  factor: 4,
  originalContext: 32768,
  previousContext: 32768,
  context: 131072,
  scaling: { method: "yarn", factor: 4, originalContext: 32768, betaFast: 32, betaSlow: 1, truncate: true },
  theta: 1_000_000,
  rotaryDim: 128,
  headDim: 128,
  correction: { lowRaw: 13.6, highRaw: 36.8, low: 13, high: 37 },
  bands: { extrapolated: [0, 13], ramped: [13, 37], interpolated: [37, 64] },
  invFreq: [],
  attentionFactor: 1.1386294361119891,
  warnings: ["vLLM ignores truncate"],
};

const SOURCE_CARD = `---
license: apache-2.0
license_link: https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE
language:
- en
pipeline_tag: text-generation
tags:
- chat
base_model: Qwen/Qwen2.5-7B
---

# Qwen2.5-7B-Instruct

The original text | with a pipe.
`;

test("card: front matter with base_model, the source license, our tags and the source's tags", () => {
  const card = renderModelCard({ baseModel: "Qwen/Qwen2.5-7B-Instruct", plan: PLAN, format: "hf", existingCard: SOURCE_CARD });
  const { frontMatter, body } = splitFrontMatter(card);
  const meta = parseYaml(frontMatter!) as Record<string, unknown>;
  assert.equal(meta.base_model, "Qwen/Qwen2.5-7B-Instruct");
  assert.equal(meta.license, "apache-2.0");
  assert.equal(meta.license_link, "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE");
  assert.deepEqual(meta.language, ["en"]);
  assert.deepEqual(meta.tags, ["yarn", "long-context", "rope-scaling", "chat"]);
  assert.equal(meta.pipeline_tag, "text-generation");
  // Our text first, then the original card below a heading, with its own front matter removed.
  assert.ok(body.indexOf("## What changed") < body.indexOf("## Original model card"));
  assert.ok(body.includes("# Qwen2.5-7B-Instruct\n\nThe original text | with a pipe."));
  assert.equal(body.match(/^---$/gm)?.length, 1, "only our separator line; the source front matter is gone");
});

test("card: the YaRN parameter table, warnings, engines and validation figures", () => {
  const card = renderModelCard({
    baseModel: "org/m",
    plan: PLAN,
    format: "gguf",
    files: ["m-Q4_K_M.gguf"],
    license: "mit",
    engines: [
      { engine: "llama.cpp", command: "llama-server -m m-Q4_K_M.gguf -c 131072" },
      { engine: "vLLM", command: "vllm serve org/m --max-model-len 131072", note: "vLLM reads rope_scaling from config.json." },
    ],
    validation: { rows: [{ engine: "transformers", "max |Δ inv_freq|": 0, passed: true }, { engine: "llamacpp", "max |Δ inv_freq|": 1.2e-7, passed: true }], note: "Checked against each engine's reading." },
  });
  const meta = parseYaml(splitFrontMatter(card).frontMatter!) as Record<string, unknown>;
  assert.equal(meta.license, "mit");
  assert.deepEqual(meta.tags, ["yarn", "long-context", "rope-scaling", "gguf"]);
  for (const row of ["| method | yarn |", "| factor | 4 |", "| original context (tokens) | 32768 |", "| new context (tokens) | 131072 |", "| beta_fast | 32 |", "| beta_slow | 1 |", "| truncate | true |", "| attention factor (cos/sin multiplier) | 1.13863 |", "| correction range (pairs) | 13 – 37 |", "| pairs kept / blended / interpolated | 13 / 24 / 27 |"]) {
    assert.ok(card.includes(row), row);
  }
  assert.ok(card.includes("- vLLM ignores truncate"));
  assert.ok(card.includes("### llama.cpp\n\n```\nllama-server -m m-Q4_K_M.gguf -c 131072\n```"));
  assert.ok(card.includes("vLLM reads rope_scaling from config.json."));
  assert.ok(card.includes("| engine | max \\|Δ inv_freq\\| | passed |"));
  assert.ok(card.includes("| llamacpp | 1.2e-7 | true |"));
  assert.ok(card.includes("Files: `m-Q4_K_M.gguf`."));
  assert.ok(!card.includes("## Original model card"));
  assert.ok(!card.includes("## Validation\n\n\n"));
});

test("card: no source card, no validation: no empty sections; license helpers; commit message", () => {
  const card = renderModelCard({ baseModel: "org/m", plan: { ...PLAN, warnings: [] }, format: "hf" });
  assert.ok(!card.includes("## Validation") && !card.includes("## How to run it") && !card.includes("Warnings"));
  assert.equal(cardLicense(SOURCE_CARD), "apache-2.0");
  assert.equal(cardLicense("# no front matter"), undefined);
  assert.equal(cardLicense(undefined), undefined);
  const msg = commitMessageFor(PLAN, "hf", "org/m");
  assert.equal(msg.title, "yarnify: yarn x4 RoPE scaling (32768 -> 131072 tokens)");
  assert.match(msg.description, /org\/m \(hf\).*attention factor 1\.13863/);
});
