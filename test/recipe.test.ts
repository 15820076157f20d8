// `yarnify recipe`: each trainer's config, parsed back and checked against the keys that trainer documents, carries
// the patched model's RoPE fields as config.json stores them, the new length, and the YaRN paper's fine-tune.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { buffers } from "./support/cli-io.ts";
import { repoRoot } from "./support/cli-run.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { writeTinyModel } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";

type Obj = { [key: string]: unknown };

// The keys each trainer documents for what a recipe sets (only these may appear at the top level):
// axolotl: src/axolotl/utils/schemas/{model,config,training,datasets,deprecated}.py (base_model, sequence_len,
//   datasets[].path/type/field, max_steps, warmup_steps, learning_rate, lr_scheduler, optimizer, micro_batch_size,
//   gradient_accumulation_steps, gradient_checkpointing, bf16, output_dir; overrides_of_model_config, "optional
//   overrides to the base model configuration", where docs/optimizations.qmd puts rope_scaling).
// LLaMA-Factory: src/llamafactory/hparams/{model,data,finetuning}_args.py and transformers' TrainingArguments;
//   data/README.md for dataset_info.json (hf_hub_url, columns.prompt).
// NeMo RL: examples/configs/sft.yaml and docs/guides/yarn-long-context.md (policy.hf_config_overrides.rope_scaling).
// verl: verl/trainer/config/sft_trainer_engine.yaml, model/hf_model.yaml, optim/fsdp.yaml.
const DOCUMENTED: Record<string, string[]> = {
  axolotl: ["base_model", "sequence_len", "overrides_of_model_config", "datasets", "max_steps", "learning_rate", "lr_scheduler", "warmup_steps", "optimizer", "micro_batch_size", "gradient_accumulation_steps", "gradient_checkpointing", "bf16", "output_dir"],
  "llama-factory": ["model_name_or_path", "stage", "do_train", "finetuning_type", "dataset", "dataset_dir", "cutoff_len", "max_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "bf16", "output_dir"],
  "nemo-rl": ["defaults", "sft", "checkpointing", "policy", "cluster"],
  verl: ["hydra", "defaults", "model", "data", "optim", "trainer"],
};
/** nemo_rl/models/megatron/setup.py: a yarn rope_scaling must give every one of these. */
const NEMO_RL_YARN_REQUIRED = ["factor", "rope_theta", "original_max_position_embeddings", "truncate", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"];
/** The YaRN paper: 400 steps, global batch 64; the authors' finetune.py: lr 2e-5, 20 warmup steps. */
const PAPER = { steps: 400, batch: 64, lr: 2e-5, warmup: 20 };

/** Runs `fn` in a fresh temporary folder, removed afterwards. */
async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-recipe-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const b = buffers();
  const code = await runCli(args, b.io);
  return { code, out: b.out(), err: b.err() };
}

/** Patches a bundled example to `out` and returns its config.json. */
async function patched(example: string, out: string, extra: string[] = []): Promise<Obj> {
  const r = await cli(["patch", join(repoRoot, "examples", example), "--factor", "4", "--out", out, ...extra]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Obj;
}

async function recipeOf(model: string, trainer: string, dir: string, extra: string[] = []): Promise<{ config: Obj; files: string[] }> {
  const out = join(dir, `${trainer}-recipe`);
  const r = await cli(["recipe", model, "--trainer", trainer, "--out", out, ...extra]);
  assert.equal(r.code, 0, r.err);
  const config = parseYaml(readFileSync(join(out, `${trainer}.yaml`), "utf8")) as Obj;
  const extraKeys = Object.keys(config).filter((k) => !DOCUMENTED[trainer].includes(k));
  assert.deepEqual(extraKeys, [], `${trainer}: keys the trainer does not document`);
  return { config, files: r.out.split("\n")[0].replace(/^wrote /, "").split(", ") };
}

function checkYarnFields(fields: Obj, rope: Obj, theta: unknown, where: string): void {
  for (const k of NEMO_RL_YARN_REQUIRED) assert.ok(k in fields, `${where}: ${k} missing`);
  assert.equal(fields.rope_type, "yarn");
  assert.equal(fields.rope_theta, theta);
  // The model's own values where config.json has them, transformers' defaults where it does not.
  const defaults: Obj = { truncate: true, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 0 };
  for (const k of ["factor", "original_max_position_embeddings", "truncate", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"]) {
    assert.equal(fields[k], k in rope ? rope[k] : defaults[k], `${where}: ${k}`);
  }
}

test("recipe: each trainer's config for a patched Qwen2.5 (v4 rope_scaling), parsed back against the trainer's documented keys", async () => {
  await inTmp(async (dir) => {
  const model = join(dir, "qwen-128k");
  const cfg = await patched("qwen2.5-7b-instruct", model);
  const rope = cfg.rope_scaling as Obj;
  const context = cfg.max_position_embeddings as number;
  assert.equal(context, 131072);

  const axolotl = (await recipeOf(model, "axolotl", dir, ["--gpus", "8"])).config;
  assert.equal(axolotl.base_model, model);
  assert.equal(axolotl.sequence_len, context);
  assert.deepEqual(axolotl.overrides_of_model_config, { rope_scaling: rope, rope_theta: cfg.rope_theta, max_position_embeddings: context }, "the stored block, key for key");
  assert.equal(axolotl.max_steps, PAPER.steps);
  assert.equal(axolotl.learning_rate, PAPER.lr);
  assert.equal(axolotl.warmup_steps, PAPER.warmup);
  assert.equal((axolotl.micro_batch_size as number) * (axolotl.gradient_accumulation_steps as number) * 8, PAPER.batch);
  assert.deepEqual(axolotl.datasets, [{ path: "emozilla/pg19", type: "completion", field: "text" }]);
  assert.ok(!("rope_scaling" in axolotl), "axolotl refuses a top-level rope_scaling (deprecated.py)");

  const lf = await recipeOf(model, "llama-factory", dir);
  const factory = lf.config;
  assert.equal(factory.model_name_or_path, model);
  assert.equal(factory.cutoff_len, context, "LLaMA-Factory trains at model_max_length = cutoff_len");
  assert.ok(!("rope_scaling" in factory), "left unset, configure_rope keeps the patched config.json as stored");
  assert.equal(factory.stage, "pt");
  assert.deepEqual([factory.max_steps, factory.learning_rate, factory.warmup_steps, (factory.per_device_train_batch_size as number) * (factory.gradient_accumulation_steps as number)], [PAPER.steps, PAPER.lr, PAPER.warmup, PAPER.batch]);
  const datasetInfo = JSON.parse(readFileSync(join(factory.dataset_dir as string, "dataset_info.json"), "utf8")) as Obj;
  assert.deepEqual(datasetInfo[factory.dataset as string], { hf_hub_url: "emozilla/pg19", columns: { prompt: "text" } });
  assert.deepEqual(lf.files.map((f) => f.slice(f.lastIndexOf("/") + 1)), ["llama-factory.yaml", "dataset_info.json"]);

  const nemo = (await recipeOf(model, "nemo-rl", dir)).config;
  const policy = nemo.policy as Obj;
  assert.equal(policy.model_name, model);
  assert.equal(policy.max_total_sequence_length, context);
  assert.equal((policy.dtensor_cfg as Obj).enabled, false, "YaRN runs on the Megatron backend only");
  assert.equal((policy.megatron_cfg as Obj).enabled, true);
  checkYarnFields((policy.hf_config_overrides as Obj).rope_scaling as Obj, rope, cfg.rope_theta, "nemo-rl");
  assert.equal(policy.train_global_batch_size, PAPER.batch);
  assert.equal(((policy.megatron_cfg as Obj).optimizer as Obj).lr, PAPER.lr);
  assert.equal(((policy.megatron_cfg as Obj).scheduler as Obj).lr_warmup_iters, PAPER.warmup);
  assert.equal((nemo.sft as Obj).max_num_steps, PAPER.steps);

  const verl = (await recipeOf(model, "verl", dir)).config;
  assert.deepEqual(verl.defaults, ["sft_trainer_engine", "_self_"]);
  assert.deepEqual(verl.model, { path: model }, "no override_config: the patched config.json carries the fields");
  const data = verl.data as Obj;
  assert.equal(data.max_length, context);
  assert.ok((data.max_token_len_per_gpu as number) >= context, "a sequence fits the dynamic batch's token budget");
  assert.equal(data.train_batch_size, PAPER.batch);
  assert.deepEqual([(verl.optim as Obj).lr, (verl.optim as Obj).lr_warmup_steps, (verl.trainer as Obj).total_training_steps], [PAPER.lr, PAPER.warmup, PAPER.steps]);
  assert.ok(["constant", "cosine"].includes((verl.optim as Obj).lr_scheduler_type as string), "verl's schedulers (optimizer.py)");
  });
}, { timeoutMs: 60_000 });

test("recipe: a v5 rope_parameters model, DeepSeek's mscale pair and gpt-oss-style truncate: false reach each trainer as stored", async () => {
  await inTmp(async (dir) => {
  const qwen3 = join(dir, "qwen3-128k");
  const cfg = await patched("qwen3-8b-v5", qwen3, ["--original-context", "32768", "--no-truncate"]);
  const params = cfg.rope_parameters as Obj;
  assert.equal(params.truncate, false);
  const axolotl = (await recipeOf(qwen3, "axolotl", dir)).config;
  assert.deepEqual(axolotl.overrides_of_model_config, { rope_parameters: params, max_position_embeddings: cfg.max_position_embeddings });
  const nemo = ((await recipeOf(qwen3, "nemo-rl", dir)).config.policy as Obj).hf_config_overrides as Obj;
  checkYarnFields(nemo.rope_scaling as Obj, params, params.rope_theta, "nemo-rl v5");
  assert.equal((nemo.rope_scaling as Obj).truncate, false);
  // The YAML spells numbers as config.json does: 4.0 stays a float, DeepSeek's 40 an integer.
  assert.match(readFileSync(join(dir, "axolotl-recipe", "axolotl.yaml"), "utf8"), /\n {4}factor: 4\.0\n/);

  const deepseek = join(repoRoot, "examples", "deepseek-v3");
  const stored = JSON.parse(readFileSync(join(deepseek, "config.json"), "utf8")) as Obj;
  const dsNemo = (((await recipeOf(deepseek, "nemo-rl", dir)).config.policy as Obj).hf_config_overrides as Obj).rope_scaling as Obj;
  checkYarnFields(dsNemo, stored.rope_scaling as Obj, stored.rope_theta, "nemo-rl deepseek");
  assert.deepEqual([dsNemo.mscale, dsNemo.mscale_all_dim], [1, 1]);
  assert.match(readFileSync(join(dir, "nemo-rl-recipe", "nemo-rl.yaml"), "utf8"), /\n {6}factor: 40\n/);
  });
}, { timeoutMs: 60_000 });

test("recipe: refusals are one line: no scaling, NeMo RL without YaRN or with an attention factor Megatron would not compute, a batch that does not split", async () => {
  await inTmp(async (dir) => {
  const plain = writeTinyModel(dir, "plain");
  const linear = join(dir, "linear");
  assert.equal((await cli(["patch", plain, "--factor", "4", "--method", "linear", "--out", linear])).code, 0);
  const odd = writeTinyModel(dir, "odd");
  const oddConfig = JSON.parse(readFileSync(join(odd, "config.json"), "utf8")) as Obj;
  writeFileSync(join(odd, "config.json"), JSON.stringify({ ...oddConfig, max_position_embeddings: 8192, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 2048, mscale: 0.707 } }));
  const cases: Array<[string[], number, RegExp]> = [
    [["recipe", plain, "--trainer", "axolotl"], 1, /^yarnify: .*plain\/config\.json: declares no RoPE scaling: patch it first/],
    [["recipe", linear, "--trainer", "nemo-rl"], 1, /^yarnify: .*linear\/config\.json: uses linear RoPE scaling; NeMo RL carries YaRN only/],
    [["recipe", odd, "--trainer", "nemo-rl"], 1, /its attention factor 1\.1386\d* \(as transformers computes it\) is not what NeMo RL's Megatron computes from mscale 0\.707 and mscale_all_dim 0 \(1\.0980\d*\)/],
    [["recipe", linear, "--trainer", "axolotl", "--gpus", "3"], 1, /^yarnify: --gpus: the global batch of 64 does not split over 3 GPUs\n$/],
    [["recipe", linear, "--trainer", "deepspeed"], 1, /^yarnify: --trainer: "deepspeed" is not one: axolotl \| llama-factory \| nemo-rl \| verl\n$/],
    [["recipe", linear], 1, /^yarnify: --trainer: missing: axolotl/],
    [["recipe", join(dir, "nothing"), "--trainer", "verl"], 2, /config\.json: not found/],
  ];
  for (const [args, code, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, args.join(" "));
    assert.match(r.err, re);
    assert.ok(!r.err.trimEnd().includes("\n"), "one line");
  }
  // axolotl and verl take a linear extension too: the config.json they load carries it.
  const verl = await cli(["recipe", linear, "--trainer", "verl", "--json"]);
  assert.equal(verl.code, 0, verl.err);
  assert.equal((JSON.parse(verl.out) as { context: number }).context, 8192);
  });
});

test("recipe: a patched model on the hub is read from its config and named by its repo", async () => {
  await withStandInHub(async (hub, dir) => {
    const model = join(dir, "tiny-8k");
    assert.equal((await cli(["patch", writeTinyModel(dir, "tiny"), "--factor", "4", "--out", model])).code, 0);
    hub.addRepo("me/tiny-8k", { "config.json": readFileSync(join(model, "config.json"), "utf8") });
    const r = await cli(["recipe", "me/tiny-8k", "--trainer", "nemo-rl", "--hub-url", hub.url, "--token", "hf_test_writer", "--cache-dir", join(dir, "cache")]);
    assert.equal(r.code, 0, r.err);
    const policy = (parseYaml(r.out) as Obj).policy as Obj;
    assert.equal(policy.model_name, "me/tiny-8k");
    assert.equal(policy.max_total_sequence_length, 8192);
    assert.equal(((policy.hf_config_overrides as Obj).rope_scaling as Obj).factor, 4);
    assert.match(r.out, /^# nemo-rl recipe by yarnify: me\/tiny-8k, 8192 tokens \(yarn x4 from 2048\),\n/);
  });
});
