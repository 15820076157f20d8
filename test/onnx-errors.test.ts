// Bad input for the ONNX converter: one clear line, a typed error, nothing written.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  OnnxExternalDataError,
  OnnxFormatError,
  OnnxOutputError,
  OnnxPatchError,
  OnnxRopeAmbiguousError,
  OnnxRopeNotFoundError,
  inspectOnnx,
  patchOnnx,
} from "../converters/onnx/index.ts";
import { plan } from "../src/core/plan.ts";
import type { RopeSpec } from "../src/core/rope/types.ts";
import { test } from "./support/harness.ts";
import { FLOAT, externalise, int64Tensor, invFreqGraphNodes, node, plainInvFreq, tempDir, tensor, valueInfo, writeModel } from "./support/onnx-fixtures.ts";
import { sharedPath } from "./support/shared.ts";

const spec: RopeSpec = { theta: 10000, headDim: 64, rotaryDim: 64, context: 256, originalContext: 256, scaling: { method: "none" } };
const yarn4 = plan(spec, { factor: 4 });
const tinyOnnx = sharedPath("models/tiny-llama-py/onnx/model.onnx");

/** Runs `fn`, expects `type`, a one-line message naming `file` and containing `words`, and no `out` folder. */
function expectRefusal(fn: () => unknown, type: new (...args: never[]) => Error, file: string, words: RegExp, out?: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  const message = (caught as Error).message;
  assert.ok(!message.includes("\n"), `one line: ${message}`);
  assert.ok(message.startsWith(file), `names the file: ${message}`);
  assert.match(message, words);
  if (out) assert.ok(!existsSync(out), "nothing written");
  return caught as Error;
}

test("onnx bad input: not an ONNX file", () => {
  const dir = tempDir("bad");
  const path = join(dir, "model.onnx");
  writeFileSync(path, "# this is a README, not a model\n".repeat(20));
  expectRefusal(() => inspectOnnx(path), OnnxFormatError, path, /not .*ONNX/);
  expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: `${dir}-out` }), OnnxFormatError, path, /ONNX/, `${dir}-out`);
});

test("onnx bad input: truncated protobuf", () => {
  const dir = tempDir("trunc");
  const path = join(dir, "model.onnx");
  const bytes = readFileSync(tinyOnnx);
  writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: `${dir}-out` }), OnnxFormatError, path, /truncated/, `${dir}-out`);
});

test("onnx bad input: missing external data file", () => {
  const dir = tempDir("noext");
  const path = join(dir, "model.onnx");
  copyFileSync(tinyOnnx, path);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: 256, head_dim: 64, rope_theta: 10000 }));
  // The tiny model's inv_freq is inline, so inspect works; the weights it references are not there.
  assert.equal(inspectOnnx(path).spec.theta, 10000);
  expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: `${dir}-out` }), OnnxExternalDataError, path, /model\.onnx\.data.* missing/, `${dir}-out`);
  // When inv_freq itself is external, inspect already says which file is missing.
  const inv = tensor("inv", [1, 32, 1], FLOAT, plainInvFreq(10000, 64));
  externalise(inv, "gone.bin", 0);
  const path2 = join(dir, "ext.onnx");
  writeModel({
    path: path2,
    nodes: invFreqGraphNodes({ inv: "inv" }),
    initializers: [inv, int64Tensor("axes_1", [1])],
    inputs: [valueInfo("position_ids", 7, [1, "s"])],
    outputs: [valueInfo("cos", FLOAT, [1, "s", 64]), valueInfo("sin", FLOAT, [1, "s", 64])],
  });
  expectRefusal(() => inspectOnnx(path2), OnnxExternalDataError, path2, /"gone\.bin" of tensor "inv" is missing/);
});

test("onnx bad input: no rotary embedding, the message says what was searched", () => {
  const dir = tempDir("norope");
  const path = join(dir, "model.onnx");
  writeModel({
    path,
    nodes: [node("Cos", ["x"], ["y"]), node("Mul", ["y", "w"], ["z"])],
    initializers: [tensor("w", [4], FLOAT, [1, 2, 3, 4])],
    inputs: [valueInfo("x", FLOAT, [4])],
    outputs: [valueInfo("z", FLOAT, [4])],
  });
  expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: `${dir}-out` }), OnnxRopeNotFoundError, path, /searched 1 Cos and 0 Sin nodes.*RotaryEmbedding/, `${dir}-out`);
});

test("onnx bad input: two inv_freq tensors that disagree are refused and listed; tensor chooses", () => {
  const dir = tempDir("ambig");
  const path = join(dir, "model.onnx");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: 256, head_dim: 64, rope_theta: 10000 }));
  writeModel({
    path,
    nodes: [...invFreqGraphNodes({ inv: "inv_a" }), ...invFreqGraphNodes({ inv: "inv_b", cosName: "cos_b", sinName: "sin_b" })],
    initializers: [
      tensor("inv_a", [1, 32, 1], FLOAT, plainInvFreq(10000, 64)),
      tensor("inv_b", [1, 32, 1], FLOAT, plainInvFreq(500000, 64)),
      int64Tensor("axes_1", [1]),
    ],
    inputs: [valueInfo("position_ids", 7, [1, "s"])],
    outputs: ["cos", "sin", "cos_b", "sin_b"].map((n) => valueInfo(n, FLOAT, [1, "s", 64])),
  });
  const err = expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: `${dir}-out` }), OnnxRopeAmbiguousError, path, /inv_a.*theta 10000.*inv_b.*theta 500000.*--tensor/, `${dir}-out`);
  assert.deepEqual((err as OnnxRopeAmbiguousError).candidates, ["inv_a", "inv_b"]);
  const chosen = inspectOnnx({ path, tensor: "inv_b" });
  assert.equal(chosen.spec.theta, 500000);
  const res = patchOnnx({ source: path, plan: yarn4, out: `${dir}-out`, tensor: "inv_a" });
  // Only inv_a changed: the patched file still has inv_b's plain values, so it is still ambiguous... with inv_b.
  assert.equal(inspectOnnx({ path: res.model, tensor: "inv_b" }).found.tensors[0].name, "inv_b");
  expectRefusal(() => inspectOnnx({ path, tensor: "nope" }), OnnxRopeNotFoundError, path, /no float vector named "nope".*inv_a, inv_b/);
});

test("onnx bad input: output into the model's own folder, or a plan for another rotary dim", () => {
  const dir = tempDir("out");
  const path = join(dir, "model.onnx");
  copyFileSync(tinyOnnx, path);
  copyFileSync(sharedPath("models/tiny-llama-py/onnx/model.onnx.data"), join(dir, "model.onnx.data"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: 256, head_dim: 64, rope_theta: 10000 }));
  const before = readFileSync(path);
  expectRefusal(() => patchOnnx({ source: path, plan: yarn4, out: dir }), OnnxOutputError, path, /own folder/);
  const wide = plan({ ...spec, rotaryDim: 128, headDim: 128 }, { factor: 4 });
  expectRefusal(() => patchOnnx({ source: path, plan: wide, out: `${dir}-out` }), OnnxPatchError, path, /64 frequencies but .* 32/, `${dir}-out`);
  assert.deepEqual(readFileSync(path), before);
});
