// Mutated config.json files (types swapped, numbers extreme, keys deleted or duplicated, Object.prototype names,
// deep nesting, truncation), run in-process through inspect and patch: each ends in success (an output that reads
// back with the planned context) or one YarnifyError line with a documented exit code, quickly, with nothing at the
// output name on failure. Seeded; YARNIFY_FUZZ_SEED replays a run, YARNIFY_FUZZ_CASES runs more.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES, YarnifyError } from "../src/core/errors.ts";
import { readHfConfig } from "../src/core/hf-config/read.ts";
import { seededRandom } from "../src/core/random.ts";
import { inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import { test } from "./support/harness.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Real-shaped configs: v4 rope_scaling (none and YaRN), v5 rope_parameters per layer type under text_config,
// DeepSeek's MLA dims with YaRN mscales, Phi-3's partial rotary with longrope.
const BASES: Json[] = [
  {
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 4096, intermediate_size: 14336, num_attention_heads: 32,
    num_key_value_heads: 8, num_hidden_layers: 32, max_position_embeddings: 8192, rope_theta: 500000.0, rope_scaling: null,
    rms_norm_eps: 1e-05, torch_dtype: "bfloat16", tie_word_embeddings: false, vocab_size: 128256,
  },
  {
    architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_size: 3584, num_attention_heads: 28, num_key_value_heads: 4,
    max_position_embeddings: 131072, rope_theta: 1000000.0, sliding_window: 131072, use_sliding_window: false,
    rope_scaling: { type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 },
  },
  {
    architectures: ["Gemma3ForConditionalGeneration"], model_type: "gemma3",
    text_config: {
      model_type: "gemma3_text", head_dim: 256, hidden_size: 2560, num_attention_heads: 8, max_position_embeddings: 131072,
      layer_types: ["sliding_attention", "full_attention"],
      rope_parameters: { sliding_attention: { rope_type: "default", rope_theta: 10000.0 }, full_attention: { rope_type: "linear", factor: 8.0, rope_theta: 1000000.0 } },
    },
    vision_config: { hidden_size: 1152, image_size: 896 },
  },
  {
    architectures: ["DeepseekV3ForCausalLM"], model_type: "deepseek_v3", hidden_size: 7168, num_attention_heads: 128,
    qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, max_position_embeddings: 163840, rope_theta: 10000,
    rope_scaling: { type: "yarn", factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1.0, mscale_all_dim: 1.0 },
  },
  {
    architectures: ["Phi3ForCausalLM"], model_type: "phi3", hidden_size: 3072, num_attention_heads: 32, partial_rotary_factor: 0.5,
    max_position_embeddings: 131072, original_max_position_embeddings: 4096, rope_theta: 10000.0,
    rope_scaling: { type: "longrope", short_factor: Array.from({ length: 24 }, (_, i) => 1 + i / 100), long_factor: Array.from({ length: 24 }, (_, i) => 1 + i / 10) },
  },
];

const PROTO_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "__defineGetter__", "isPrototypeOf"];
const ROPE_KEYS = ["rope_theta", "max_position_embeddings", "head_dim", "hidden_size", "num_attention_heads", "rope_scaling", "rope_parameters",
  "partial_rotary_factor", "qk_rope_head_dim", "original_max_position_embeddings", "factor", "type", "rope_type", "beta_fast", "beta_slow",
  "mscale", "mscale_all_dim", "attention_factor", "truncate", "short_factor", "long_factor", "text_config", "layer_types", "full_attention"];
// Placeholders for what JSON.stringify cannot write; replaced in the text.
const NAN = "@@NaN@@";
const INF = "@@Infinity@@";
const EXTREMES: Json[] = [0, -1, 0.5, 1, 2, 3, 63, 65537, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 1e300, -1e300, 1e308, 1e-300, 5e-324, -0, NAN, INF, `-${INF}`,
  "", "10000", "yarn", "linear", "llama3", "longrope", "dynamic", "default", null, true, false, [], {}, [1, 2], [[]], { factor: 4 }];
const FACTORS = [2, 4, 1.5, 32, 1.0000001, 1e308, 1e6];

/** Every container path in the tree (objects and arrays), for picking a place to mutate. */
function containers(v: Json, path: string[] = [], out: string[][] = []): string[][] {
  if (v !== null && typeof v === "object") {
    out.push(path);
    for (const [k, x] of Object.entries(v)) containers(x, [...path, k], out);
  }
  return out;
}

function at(root: Json, path: string[]): Json {
  let v = root;
  for (const k of path) v = (v as Record<string, Json>)[k];
  return v;
}

/** Sets an own data property, whatever its name ("__proto__" included). */
function put(o: Record<string, Json> | Json[], key: string | number, value: Json): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutateTree(rand: () => number, root: Json): Json {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const places = containers(root);
  const place = at(root, pick(places)) as Record<string, Json> | Json[];
  const keys = Object.keys(place);
  const key: string | number = Array.isArray(place) ? int(place.length + 1) : rand() < 0.6 && keys.length ? pick(keys) : pick(ROPE_KEYS);
  const old = (place as Record<string, Json>)[key as string];
  switch (int(6)) {
    case 0: // an extreme value
      put(place, key, structuredClone(pick(EXTREMES)));
      break;
    case 1: // a type swapped
      put(place, key, structuredClone(typeof old === "number" ? String(old) : typeof old === "string" ? Number(old) || 7 : Array.isArray(old) ? { 0: old[0] ?? null } : old && typeof old === "object" ? Object.values(old) : [old ?? null]));
      break;
    case 2: // deleted
      if (!Array.isArray(place)) delete (place as Record<string, Json>)[key as string];
      else place.splice(Number(key), 1);
      break;
    case 3: // a prototype name as a key
      put(place, Array.isArray(place) ? key : pick(PROTO_NAMES), Array.isArray(place) ? pick(PROTO_NAMES) : structuredClone(pick(EXTREMES)));
      break;
    case 4: // a prototype name as a type
      put(place, Array.isArray(place) ? key : pick(["type", "rope_type"]), pick(PROTO_NAMES));
      break;
    default: // a rope key given a whole dict or list
      put(place, key, structuredClone(pick<Json>([{ rope_type: pick(PROTO_NAMES), factor: pick(EXTREMES) }, { type: "yarn", factor: pick(EXTREMES), original_max_position_embeddings: pick(EXTREMES) }, [pick(EXTREMES)]])));
  }
  return root;
}

function mutateText(rand: () => number, text: string): string {
  const int = (n: number) => Math.floor(rand() * n);
  switch (int(4)) {
    case 0: // truncated
      return text.slice(0, int(text.length));
    case 1: { // a key given twice
      const brace = text.indexOf("{", int(text.length));
      if (brace < 0) return text;
      const key = ROPE_KEYS[int(ROPE_KEYS.length)];
      return `${text.slice(0, brace + 1)}"${key}": ${int(100000)}, "${key}": 1,${text.slice(brace + 1)}`;
    }
    case 2: { // deep nesting as a value or as the whole document
      const depth = [999, 1000, 1001, 5000, 100_000][int(5)];
      const deep = rand() < 0.5 ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      return rand() < 0.3 ? deep : text.replace(/"rope_theta": [^,\n}]+/, `"rope_theta": ${deep}`);
    }
    default: { // bytes flipped
      const chars = [...text];
      for (let i = 0, n = 1 + int(4); i < n; i++) chars[int(chars.length)] = "{}[]\",:0e-.\\ n"[int(14)];
      return chars.join("");
    }
  }
}

const documented = new Set<number>(Object.values(EXIT_CODES).map((e) => e.code));

test("fuzz: 2,000 mutated config.json files end in an output or one documented error line, quickly, nothing left behind", async () => {
  const seed = Number(process.env.YARNIFY_FUZZ_SEED ?? 20261126);
  const count = Number(process.env.YARNIFY_FUZZ_CASES ?? 2000);
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const root = mkdtempSync(join(tmpdir(), "yarnify-hf-fuzz-"));
  const model = join(root, "model");
  mkdirSync(model);
  writeFileSync(join(model, "tokenizer_config.json"), '{"model_max_length": 8192}\n');
  const tally = new Map<string, number>();
  let slowest = 0;
  let patched = 0;
  try {
    for (let n = 0; n < count; n++) {
      let tree = structuredClone(BASES[int(BASES.length)]);
      for (let r = 0, rounds = 1 + int(3); r < rounds; r++) tree = mutateTree(rand, tree);
      let text = JSON.stringify(tree, null, 2).replaceAll(`"-${INF}"`, "-Infinity").replaceAll(`"${INF}"`, "Infinity").replaceAll(`"${NAN}"`, "NaN");
      if (rand() < 0.3) text = mutateText(rand, text);
      writeFileSync(join(model, "config.json"), text);
      const out = join(root, `out-${n}`);
      const factor = FACTORS[int(FACTORS.length)];
      const what = `case ${n} (seed ${seed}, factor ${factor}): ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
      const started = performance.now();
      let err: unknown;
      let planned: number | undefined;
      try {
        await inspect({ model: model });
        const r = await patch({ model, factor, out, force: rand() < 0.5 });
        planned = r.plan.method === "dynamic" ? r.plan.originalContext : r.plan.context;
      } catch (e) {
        err = e;
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < 3000, `${what}: took ${ms.toFixed(0)} ms`);
      if (err === undefined) {
        patched++;
        assert.equal(readHfConfig(out).spec.context, planned, `${what}: the output reads back with the planned context`);
        rmSync(out, { recursive: true, force: true });
        tally.set("patched", (tally.get("patched") ?? 0) + 1);
        continue;
      }
      assert.ok(err instanceof YarnifyError, `${what}: not a YarnifyError: ${(err as Error)?.stack ?? String(err)}`);
      assert.ok(documented.has(err.exitCode), `${what}: exit code ${err.exitCode}`);
      assert.ok(err.kind === "model" || err.kind === "plan", `${what}: ${err.kind} error: ${err.message}`);
      assert.ok(!err.message.includes("\n") && err.message.length < 600, `${what}: one short line: ${err.message}`);
      assert.ok(!existsSync(out), `${what}: nothing at the output name after ${err.message}`);
      const key = `${err.kind}: ${err.problem.replace(/-?\d[\d.e+-]*/g, "N").replace(/".*"/g, "\"…\"").slice(0, 60)}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    assert.deepEqual(readdirSync(root).filter((f) => f !== "model"), [], "no output or temporary left");
    assert.ok(patched > count / 10, `only ${patched} of ${count} cases patched: the mutations are too harsh to test the writer`);
    const top = [...tally].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${v}× ${k}`);
    console.log(`     fuzz seed ${seed}: ${count} cases, ${patched} patched, slowest ${slowest.toFixed(0)} ms; ${top.join("; ")}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
