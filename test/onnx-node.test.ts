// converters/onnx/node.ts against an independent protobuf implementation (onnx-proto, a dev dependency only):
// nodes it encodes decode to the same fields, the nodes a patch inserts encode to the same bytes, bad bytes refuse.
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import { decodeNode, encodeNode } from "../converters/onnx/node.ts";
import { WireError } from "../converters/onnx/wire.ts";
import { test } from "./support/harness.ts";

const { onnx } = onnxProto;
const A = onnx.AttributeProto.AttributeType;

test("onnx node: decodeNode reads what protobufjs writes, skipping the fields it does not use", () => {
  const value = { dims: [3], dataType: 1, name: "c", rawData: new Uint8Array(new Float32Array([1, 0.5, 0.25]).buffer) };
  const bytes = onnx.NodeProto.encode({
    input: ["q", "", "cos_cache", "sin_cache"],
    output: ["q_rot"],
    name: "rotary/0",
    opType: "GroupQueryAttention",
    domain: "com.microsoft",
    docString: "skipped",
    attribute: [
      { name: "do_rotary", type: A.INT, i: 1 },
      { name: "negative", type: A.INT, i: -3 },
      { name: "scale", type: A.FLOAT, f: 0.125 },
      { name: "perm", type: A.INTS, ints: [0, 2, 1, 3] },
      { name: "mode", type: A.STRING, s: new TextEncoder().encode("linear") },
      { name: "value", type: A.TENSOR, t: value },
    ],
  }).finish();
  const node = decodeNode(bytes);
  assert.deepEqual(node.input, ["q", "", "cos_cache", "sin_cache"]);
  assert.deepEqual(node.output, ["q_rot"]);
  assert.equal(node.name, "rotary/0");
  assert.equal(node.opType, "GroupQueryAttention");
  assert.equal(node.domain, "com.microsoft");
  assert.deepEqual(node.attribute.map((a) => a.name), ["do_rotary", "negative", "scale", "perm", "mode", "value"]);
  assert.equal(node.attribute[0].i, 1);
  assert.equal(node.attribute[1].i, -3, "a negative int64 stays negative");
  assert.equal(node.attribute[2].i, undefined);
  assert.deepEqual(node.attribute[5].t, new Uint8Array(onnx.TensorProto.encode(value).finish()), "the tensor attribute's own bytes");
  const t = onnx.TensorProto.decode(node.attribute[5].t!);
  assert.deepEqual([...t.dims].map(Number), [3]);
});

test("onnx node: a node without optional fields decodes to empty ones", () => {
  const node = decodeNode(onnx.NodeProto.encode({ opType: "Cos", input: ["x"], output: ["y"] }).finish());
  assert.deepEqual(node, { input: ["x"], output: ["y"], name: "", opType: "Cos", domain: "", attribute: [] });
});

test("onnx node: encodeNode writes the bytes protobufjs writes, and decodes back", () => {
  const cases = [
    { input: ["cos_unscaled", "yarnify_attention_factor"], output: ["cos"], name: "yarnify_scale_cos", opType: "Mul" },
    { input: ["f", "like"], output: ["f_like"], name: "", opType: "CastLike" },
    { input: ["a"], output: ["b"], name: "n", opType: "RotaryEmbedding", domain: "com.microsoft" },
    { input: ["ü", "名前"], output: ["x"], name: "ünïcode", opType: "Add" },
  ];
  for (const c of cases) {
    const ours = encodeNode(c);
    const theirs = new Uint8Array(onnx.NodeProto.encode({ ...c, ...(c.name === "" && { name: undefined }) }).finish());
    assert.deepEqual(ours, theirs, c.opType);
    assert.deepEqual(decodeNode(ours), { domain: "", ...c, attribute: [] });
  }
});

test("onnx node: malformed bytes are a WireError, not a garbage node", () => {
  const good = encodeNode({ input: ["x"], output: ["y"], name: "n", opType: "Sin" });
  assert.throws(() => decodeNode(good.subarray(0, good.length - 2)), WireError, "truncated");
  // op_type (field 4) as a varint instead of a string.
  assert.throws(() => decodeNode(Uint8Array.from([4 << 3, 1])), /op_type.*wire type 0/);
  // An attribute's i (field 3) as a string.
  const attr = Uint8Array.from([(3 << 3) | 2, 1, 65]);
  assert.throws(() => decodeNode(Uint8Array.from([(5 << 3) | 2, attr.length, ...attr])), /AttributeProto\.i.*not varint/);
});
