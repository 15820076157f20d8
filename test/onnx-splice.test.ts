// The streamed splice keeps top-level fields out of the graph even when the graph is the file's last field
// (as many exporters write it), and leaves every untouched byte as it was.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspectOnnx, patchOnnx } from "../converters/onnx/index.ts";
import { MemorySource, concatBytes, fields } from "../converters/onnx/wire.ts";
import { plan } from "../src/core/plan.ts";
import { test } from "./support/harness.ts";
import { FLOAT, int64Tensor, invFreqGraphNodes, plainInvFreq, tempDir, tensor, valueInfo, writeModel } from "./support/onnx-fixtures.ts";

test("onnx splice: graph as the last field, metadata appended after it, weights byte-identical", () => {
  const dir = tempDir("splice");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: 256, head_dim: 64, rope_theta: 10000 }));
  const path = join(dir, "model.onnx");
  const weight = tensor("w", [1000], FLOAT, Array.from({ length: 1000 }, (_, i) => i * 0.001));
  writeModel({
    path,
    nodes: invFreqGraphNodes({ inv: "inv" }),
    initializers: [tensor("inv", [1, 32, 1], FLOAT, plainInvFreq(10000, 64)), int64Tensor("axes_1", [1]), weight],
    inputs: [valueInfo("position_ids", 7, [1, "s"])],
    outputs: [valueInfo("cos", FLOAT, [1, "s", 64]), valueInfo("sin", FLOAT, [1, "s", 64])],
  });
  // Move the graph (field 7) to the end of the file.
  const bytes = readFileSync(path);
  const src = new MemorySource(bytes);
  const top = [...fields(src, 0, bytes.length)];
  const graph = top.filter((f) => f.field === 7);
  const others = top.filter((f) => f.field !== 7);
  writeFileSync(path, concatBytes([...others, ...graph].map((f) => bytes.subarray(f.start, f.end))));

  const p = plan(inspectOnnx(path).spec, { factor: 4 });
  const res = patchOnnx({ source: path, plan: p, out: `${dir}-out` });
  const again = inspectOnnx(res.model);
  assert.equal(again.spec.scaling.method, "yarn");
  assert.equal(again.spec.context, 1024);
  // The weight's raw bytes appear unchanged in the output.
  const raw = Buffer.from(weight.rawData as Uint8Array);
  assert.ok(readFileSync(res.model).includes(raw));
  // Patching the patched model again (re-plan from its original context) replaces the metadata, not adds one.
  const p2 = plan(again.spec, { factor: 2, force: true, allowShrink: true });
  const res2 = patchOnnx({ source: res.model, plan: p2, out: `${dir}-out2` });
  const third = inspectOnnx(res2.model);
  assert.equal(third.spec.context, 512);
  assert.equal(third.spec.originalContext, 256);
  assert.ok(Math.abs(third.found.attentionFactor - p2.attentionFactor) < 1e-6);
  const out2 = readFileSync(res2.model);
  assert.equal(out2.toString("latin1").split("yarnify.rope").length - 1, 1);
});
