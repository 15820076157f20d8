// The cache generator follows the project's float32 cos/sin recipe (cosSinRow) exactly, and the f16/bf16
// encoders round to nearest even like torch's casts.
import assert from "node:assert/strict";
import { ropeCaches } from "../converters/onnx/caches.ts";
import { bf16ToNumber, halfToNumber, numberToBf16, numberToHalf } from "../converters/onnx/tensor.ts";
import { plan } from "../src/core/plan.ts";
import { cosSinRow } from "../src/core/rope/compute.ts";
import { test } from "./support/harness.ts";

test("onnx caches: bit-identical to cosSinRow at every probed row", () => {
  const p = plan({ theta: 500000, headDim: 128, rotaryDim: 128, context: 8192, originalContext: 8192, scaling: { method: "none" } }, { factor: 4 });
  const rows = 32768;
  const { cos, sin } = ropeCaches({ invFreq: p.invFreq, attentionFactor: p.attentionFactor, rows });
  for (const r of [0, 1, 2, 777, 8191, 8192, 20000, rows - 1]) {
    const row = cosSinRow({ invFreq: p.invFreq, attentionFactor: p.attentionFactor }, r);
    assert.deepEqual(Array.from(cos.subarray(r * 64, (r + 1) * 64)), row.cos.slice(0, 64), `cos row ${r}`);
    assert.deepEqual(Array.from(sin.subarray(r * 64, (r + 1) * 64)), row.sin.slice(0, 64), `sin row ${r}`);
  }
});

test("onnx float16/bfloat16 rounding: exact values, ties to even, subnormals, overflow", () => {
  for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, 1.1386294361]) assert.equal(halfToNumber(numberToHalf(v)), Math.abs(v - 1.1386294361) < 1e-12 ? 1.138671875 : v);
  assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00); // tie → even (1.0)
  assert.equal(numberToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(numberToHalf(70000), 0x7c00);
  assert.equal(numberToHalf(2 ** -25), 0); // tie at half the smallest subnormal → even (0)
  assert.equal(numberToBf16(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(numberToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(bf16ToNumber(numberToBf16(-3.5)), -3.5);
});
