// The same model as a GGUF and as an ONNX graph: both converters build their StoredRope through
// storedFromSpec, so the engine profiles get the same parameters, unscaled and after the same patch.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { ggufConverter } from "../converters/gguf/index.ts";
import { onnxConverter } from "../converters/onnx/index.ts";
import type { Converter } from "../src/core/converter.ts";
import { plan } from "../src/core/plan.ts";
import type { StoredRope } from "../src/core/rope/engines/stored.ts";
import type { Plan } from "../src/core/types.ts";
import { makeGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { FLOAT, int64Tensor, invFreqGraphNodes, plainInvFreq, tempDir, tensor, valueInfo, writeModel } from "./support/onnx-fixtures.ts";

const THETA = 10000;
const DIM = 64;
const CONTEXT = 256;
const U32 = GGUFValueType.UINT32;

/** A llama GGUF and an ONNX inv_freq graph (with its config.json) of one plain-RoPE model. */
function bothFormats(dir: string): { gguf: string; onnx: string } {
  const gguf = join(dir, "m.gguf");
  writeFileSync(
    gguf,
    makeGguf({
      arch: "llama",
      kv: {
        "llama.context_length": { value: CONTEXT, type: U32 },
        "llama.embedding_length": { value: 4 * DIM, type: U32 },
        "llama.attention.head_count": { value: 4, type: U32 },
        "llama.rope.freq_base": { value: THETA, type: GGUFValueType.FLOAT32 },
      },
      tensors: [{ name: "a", shape: [8] }],
    }),
  );
  const onnx = join(dir, "model.onnx");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "llama", max_position_embeddings: CONTEXT, head_dim: DIM, rope_theta: THETA }));
  writeModel({
    path: onnx,
    nodes: invFreqGraphNodes({ inv: "inv_freq" }),
    initializers: [tensor("inv_freq", [1, DIM / 2, 1], FLOAT, plainInvFreq(THETA, DIM)), int64Tensor("axes_1", [1])],
    inputs: [valueInfo("position_ids", 7, [1, "seq"])],
    outputs: [valueInfo("cos", FLOAT, [1, "seq", DIM]), valueInfo("sin", FLOAT, [1, "seq", DIM])],
  });
  return { gguf, onnx };
}

/** Everything but the llama.cpp keys, which only a GGUF has. */
const withoutGgufKeys = ({ gguf: _keys, ...rest }: StoredRope): StoredRope => rest;

async function readAndPatch(converter: Converter, path: string, p: Plan, out: string): Promise<{ read: StoredRope; patched: StoredRope }> {
  const info = await converter.read(path);
  const patched = await converter.patch({ info, plan: p, out, dryRun: true });
  return { read: info.stored, patched: patched.stored };
}

test("GGUF and ONNX give the same StoredRope for the same model, unscaled and after the same YaRN patch", async () => {
  const dir = tempDir("stored");
  try {
    const { gguf, onnx } = bothFormats(dir);
    const source = (await ggufConverter.read(gguf)).spec;
    // Betas other than llama.cpp's defaults, which a GGUF leaves unwritten: so both files state the same keys.
    const yarn4 = plan(source, { factor: 4, betaFast: 16, betaSlow: 2 });
    const g = await readAndPatch(ggufConverter, gguf, yarn4, join(dir, "out.gguf"));
    const o = await readAndPatch(onnxConverter, onnx, yarn4, join(dir, "out"));
    assert.deepEqual(withoutGgufKeys(g.read), o.read);
    assert.deepEqual(o.read.ropeParameters, { rope_type: "default", rope_theta: THETA });
    assert.equal(o.read.architecture, "llama");
    assert.deepEqual(withoutGgufKeys(g.patched), o.patched);
    assert.deepEqual(o.patched.ropeParameters, {
      rope_type: "yarn",
      factor: 4,
      original_max_position_embeddings: CONTEXT,
      beta_fast: 16,
      beta_slow: 2,
      rope_theta: THETA,
    });
    assert.equal(g.patched.gguf?.scalingType, "yarn");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
