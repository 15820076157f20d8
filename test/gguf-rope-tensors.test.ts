// Issue 15 point 9: GGUF tensors that carry frequencies (Llama 3.x rope_freqs.weight, Phi-3 rope_factors_long/short).
// Headers are written from the published configs' values; the factor tables are computed in the test the way
// convert_hf_to_gguf.py computes them (the llama.cpp judge on the tiny model is in gguf-llamacpp.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError } from "../converters/gguf/errors.ts";
import { patchGgufHeader } from "../converters/gguf/hub-header.ts";
import { patchGguf } from "../converters/gguf/patch.ts";
import { readGgufHeader } from "../converters/gguf/read.ts";
import { openLocalSource } from "../converters/gguf/source.ts";
import { PlanError } from "../src/core/errors.ts";
import { inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import { inspectText } from "../src/report-text.ts";
import { bytesFetch, convertLlama3Factors, makeGguf, type MakeTensor, modelKv } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";

const U32 = GGUFValueType.UINT32;
const F32 = GGUFValueType.FLOAT32;
const f = Math.fround;

// meta-llama/Llama-3.1-8B-Instruct as convert_hf_to_gguf.py writes it: no rope.scaling keys, context 131072,
// rope_freqs.weight from rope_scaling {factor 8, low 1, high 4, original 8192}, theta 500000, head dim 128.
const LLAMA31_FREQS = convertLlama3Factors(128, 500000, 8, 8192, 1, 4);
const llama31 = (kv: Parameters<typeof makeGguf>[0]["kv"] = {}, freqs: readonly number[] = LLAMA31_FREQS) =>
  makeGguf({
    arch: "llama",
    kv: { ...modelKv("llama", { context: 131072, embedding: 4096, blocks: 32, heads: 32, headsKv: 8, ropeDim: 128, theta: 500000 }), ...kv },
    tensors: [{ name: "rope_freqs.weight", shape: [64], values: freqs }, { name: "token_embd.weight", shape: [64, 8] }, { name: "blk.0.attn_q.weight", shape: [32, 32] }],
  });

// microsoft/Phi-3.5-mini-instruct as convert_hf_to_gguf.py writes it (Phi3MiniModel): context 131072, original 4096,
// attn_factor sqrt(1 + ln 32 / ln 4096), rope_factors_long/short (48 pairs; values shaped like the published ones).
const PHI_LONG = Array.from({ length: 48 }, (_, j) => f(1 + j * 1.2));
const PHI_SHORT = Array.from({ length: 48 }, (_, j) => f(1 + j * 0.05));
const phi35 = () =>
  makeGguf({
    arch: "phi3",
    kv: modelKv("phi3", {
      context: 131072, embedding: 3072, blocks: 32, heads: 32, headsKv: 32, ropeDim: 96, theta: 10000,
      scaling: { originalContext: 4096, attnFactor: Math.sqrt(1 + Math.log(32) / Math.log(4096)) },
    }),
    tensors: [
      { name: "rope_factors_long.weight", shape: [48], values: PHI_LONG },
      { name: "rope_factors_short.weight", shape: [48], values: PHI_SHORT },
      { name: "token_embd.weight", shape: [48, 8] },
    ] satisfies MakeTensor[],
  });

async function withFiles<T>(files: Record<string, Uint8Array>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-rope-tensors-"));
  try {
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tensor data of a GGUF, and where each tensor's bytes are in it. */
async function tensorData(path: string): Promise<{ data: Buffer; at: (name: string) => [number, number] }> {
  const source = await openLocalSource(path);
  const h = await readGgufHeader(source).finally(() => source.close());
  const data = readFileSync(path).subarray(h.dataOffset);
  return {
    data,
    at: (name) => {
      const t = h.tensorInfos.find((x) => x.name === name)!;
      return [Number(t.offset), Number(t.offset) + Number(t.shape.reduce((a, b) => a * b, 1n)) * 4];
    },
  };
}

test("Llama 3.1 GGUF: rope_freqs.weight reads as llama3 ×8 from 8192, and llama.cpp (dividing by it) agrees with transformers", async () => {
  await withFiles({ "llama31.gguf": llama31() }, async (dir) => {
    const r = await inspect({ model: join(dir, "llama31.gguf") });
    assert.deepEqual([r.rope.method, r.rope.factor, r.rope.originalContext, r.rope.context], ["llama3", 8, 8192, 131072]);
    assert.equal(r.engines.llamacpp.agrees, true);
    const tensors = r.details?.["ropeTensors"] as Array<{ name: string; role: string; values: number[] }>;
    assert.deepEqual(tensors.map((t) => [t.name, t.role, t.values.length]), [["rope_freqs.weight", "scaling", 64]]);
    assert.match(inspectText(r), /rope tensors {6}rope_freqs\.weight f32\[64\]: holds the Llama 3 scaling above/);
  });
});

test("Llama 3.1 GGUF: patch refuses without --force; with it, rope_freqs.weight is rewritten to ones in place, the rest of the data unchanged", async () => {
  await withFiles({ "llama31.gguf": llama31() }, async (dir) => {
    const model = join(dir, "llama31.gguf");
    await assert.rejects(patch({ model, factor: 32, out: join(dir, "no.gguf") }), (e: unknown) => e instanceof PlanError && /already has llama3 scaling/.test((e as Error).message));
    const dry = await patch({ model, factor: 32, force: true, dryRun: true, out: join(dir, "dry.gguf") });
    assert.match(dry.diff, /^-rope_freqs\.weight = f32\[64\] \[1, 1, …, 8\]$/m);
    assert.match(dry.diff, /^\+rope_freqs\.weight = f32\[64\] \[1, 1, …, 1\]$/m);
    const out = join(dir, "x32.gguf");
    const r = await patch({ model, factor: 32, force: true, out });
    assert.deepEqual([r.plan.method, r.plan.originalContext, r.plan.context], ["yarn", 8192, 262144]);
    assert.ok(r.warnings.some((w) => /rope_freqs\.weight rewritten to ones in place/.test(w)), r.warnings.join("\n"));
    // llama.cpp now computes the plan's YaRN alone.
    assert.equal(r.engines.llamacpp.agrees, true);
    r.plan.invFreq.forEach((x, j) => assert.ok(Math.abs(r.engines.llamacpp.invFreq[j] - x) <= 1e-5 * x, `pair ${j}`));
    const before = await tensorData(model);
    const after = await tensorData(out);
    const [from, to] = after.at("rope_freqs.weight");
    assert.deepEqual(before.at("rope_freqs.weight"), [from, to]);
    assert.deepEqual([...new Float32Array(after.data.buffer.slice(after.data.byteOffset + from, after.data.byteOffset + to))], Array(64).fill(1));
    assert.ok(before.data.subarray(0, from).equals(after.data.subarray(0, from)) && before.data.subarray(to).equals(after.data.subarray(to)));
    const again = await inspect({ model: out });
    assert.deepEqual([again.rope.method, (again.details?.["ropeTensors"] as Array<{ role: string }>)[0].role], ["yarn", "neutral"]);
  });
});

test("GGUF frequency tensors: YaRN keys on top of llama3 factors are flagged; unknown divisors are reported and a patch refuses them (exit 3)", async () => {
  const yarnKeys = {
    "llama.rope.scaling.type": { value: "yarn", type: GGUFValueType.STRING },
    "llama.rope.scaling.factor": { value: 4, type: F32 },
    "llama.rope.scaling.original_context_length": { value: 131072, type: U32 },
  };
  const odd = LLAMA31_FREQS.map((x, j) => (j === 40 ? x * 1.5 : x));
  await withFiles({ "combined.gguf": llama31(yarnKeys), "odd.gguf": llama31({}, odd) }, async (dir) => {
    const c = await inspect({ model: join(dir, "combined.gguf") });
    assert.equal(c.rope.method, "yarn");
    assert.equal(c.engines.llamacpp.agrees, false);
    assert.ok(c.warnings.some((w) => /llama\.cpp divides every pair's frequency by the GGUF's frequency tensor .* on top of its yarn scaling/.test(w)), c.warnings.join("\n"));
    const fixed = await patch({ model: join(dir, "combined.gguf"), factor: 32, force: true, out: join(dir, "fixed.gguf") });
    assert.equal(fixed.engines.llamacpp.agrees, true);
    const o = await inspect({ model: join(dir, "odd.gguf") });
    assert.equal(o.rope.method, "none");
    assert.ok(o.warnings.some((w) => /rope_freqs\.weight holds per-pair frequency divisors that are not llama3's/.test(w)), o.warnings.join("\n"));
    await assert.rejects(
      patch({ model: join(dir, "odd.gguf"), factor: 2, out: join(dir, "odd-x2.gguf") }),
      (e: unknown) => e instanceof GgufError && e.exitCode === 3 && /odd\.gguf: rope_freqs\.weight holds per-pair frequency divisors/.test((e as Error).message),
    );
  });
});

test("Phi-3.5 GGUF: rope_factors_long/short read as LongRoPE; a --force YaRN patch rewrites both to ones and attn_factor to 1", async () => {
  await withFiles({ "phi35.gguf": phi35() }, async (dir) => {
    const r = await inspect({ model: join(dir, "phi35.gguf") });
    assert.deepEqual([r.rope.method, r.rope.originalContext, r.rope.factor], ["longrope", 4096, 32]);
    assert.ok(Math.abs(r.rope.attentionFactor - Math.sqrt(1 + Math.log(32) / Math.log(4096))) < 1e-6);
    assert.equal(r.engines.llamacpp.agrees, true);
    const out = join(dir, "x64.gguf");
    const p = await patch({ model: join(dir, "phi35.gguf"), factor: 64, force: true, out });
    assert.equal(p.plan.context, 262144);
    const after = await inspect({ model: out });
    assert.deepEqual(after.details?.["keys"] && (after.details["keys"] as Record<string, { value: unknown }>)["phi3.rope.scaling.attn_factor"]?.value, 1);
    assert.deepEqual((after.details?.["ropeTensors"] as Array<{ name: string; role: string }>).map((t) => [t.name, t.role]), [
      ["rope_factors_long.weight", "neutral"],
      ["rope_factors_short.weight", "neutral"],
    ]);
    assert.equal(after.rope.method, "yarn");
    assert.equal(p.engines.llamacpp.agrees, true);
    assert.ok(Math.abs(p.engines.llamacpp.attentionFactor - p.plan.attentionFactor) < 1e-6);
  });
});

test("a hub GGUF whose frequency tensor must be rewritten is refused as a header-only edit, with the local way", async () => {
  const bytes = llama31();
  const { fetch } = bytesFetch(bytes);
  await assert.rejects(
    patchGgufHeader({ location: { url: "https://hub.invalid/llama31.gguf", headers: {}, fetch }, path: "org/Llama-3.1-GGUF/llama31.gguf", target: { factor: 32, force: true } }),
    (e: unknown) => e instanceof GgufError && e.exitCode === 3 && /rope_freqs\.weight must be rewritten in the tensor data, which a header edit cannot do/.test((e as Error).message),
  );
  // Without --force the plan itself is refused first: the file already has llama3 scaling.
  await assert.rejects(patchGgufHeader({ location: { url: "https://hub.invalid/llama31.gguf", headers: {}, fetch }, path: "x", target: { factor: 32 } }), PlanError);
});

test("a remote Llama 3.1 GGUF: the rewrite is hashed as it streams in, and the output verified against that hash", async () => {
  await withFiles({ "llama31.gguf": llama31() }, async (dir) => {
    const local = join(dir, "llama31.gguf");
    const planned = (await patch({ model: local, factor: 32, force: true, dryRun: true, out: join(dir, "dry.gguf") })).plan;
    const { fetch } = bytesFetch(readFileSync(local));
    const out = join(dir, "remote-x32.gguf");
    const r = await patchGguf({ source: "https://hub.invalid/llama31.gguf", fetch, plan: planned, out });
    assert.deepEqual(r.files.map((f) => [f.action, f.verified]), [["patched", true]]);
    assert.deepEqual(r.tensors.map((t) => t.name), ["rope_freqs.weight"]);
    const viaLocal = join(dir, "local-x32.gguf");
    await patch({ model: local, factor: 32, force: true, out: viaLocal });
    assert.ok(readFileSync(out).equals(readFileSync(viaLocal)), "remote and local patches write the same bytes");
  });
});
