// Uniform layouts (kernels/uniforms.ts) and the WGSL built from them: offsets and padding, the packed bytes, every
// kernel reading the struct its layout generates, and scripts/print-wgsl.ts listing and printing the kernels.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "./support/harness.ts";
import { uniforms, type UniformValues } from "../kernels/uniforms.ts";
import { flashAttentionWgsl } from "../kernels/wgsl/flash-attention.ts";
import { matmulWgsl } from "../kernels/wgsl/matmul.ts";
import { KERNELS, printWgsl, type KernelOptions } from "../scripts/print-wgsl.ts";

const MIXED = uniforms([
  ["a", "u32"],
  ["b", "vec2<f32>", "aligned to 8"],
  ["c", "f32"],
  ["d", "vec4<i32>"],
  ["e", "i32"],
]);

test("uniforms: a mixed declaration gets WGSL's offsets, explicit padding and a size rounded to 16", () => {
  assert.deepEqual(MIXED.offsets, { a: 0, b: 8, c: 16, d: 32, e: 48 });
  assert.equal(MIXED.size, 64);
  assert.equal(
    MIXED.wgsl,
    [
      "struct Params {",
      "  a: u32,",
      "  _pad0: u32,",
      "  b: vec2<f32>,  // aligned to 8",
      "  c: f32,",
      "  _pad1: u32,",
      "  _pad2: u32,",
      "  _pad3: u32,",
      "  d: vec4<i32>,",
      "  e: i32,",
      "  _pad4: u32,",
      "  _pad5: u32,",
      "  _pad6: u32,",
      "}",
      "",
    ].join("\n"),
  );
});

test("uniforms: pack writes each value at its offset, little-endian, padding zero", () => {
  const bytes = MIXED.pack({ a: 0xffffffff, b: [0.5, -2], c: 0.125, d: [1, -1, 2 ** 31 - 1, -(2 ** 31)], e: -7 });
  assert.equal(bytes.byteLength, 64);
  const view = new DataView(bytes);
  assert.equal(view.getUint32(0, true), 0xffffffff);
  assert.deepEqual([view.getFloat32(8, true), view.getFloat32(12, true), view.getFloat32(16, true)], [0.5, -2, 0.125]);
  assert.deepEqual([0, 1, 2, 3].map((i) => view.getInt32(32 + 4 * i, true)), [1, -1, 2 ** 31 - 1, -(2 ** 31)]);
  assert.equal(view.getInt32(48, true), -7);
  for (const pad of [4, 20, 24, 28, 52, 56, 60]) assert.equal(view.getUint32(pad, true), 0, `padding at ${pad}`);
  // The values' type comes from the declaration: a scalar where a vec2 is declared does not compile.
  // @ts-expect-error b is a vec2<f32>
  const wrong: UniformValues<typeof MIXED> = { a: 1, b: 2, c: 0, d: [0, 0, 0, 0], e: 0 };
  assert.ok(wrong);
});

test("uniforms: a field declared twice is refused", () => {
  assert.throws(() => uniforms([["seq", "u32"], ["seq", "f32"]]), /seq is declared twice/);
});

const VARIANTS: KernelOptions[] = [
  { dtype: "f32", headDim: 128, rotaryDim: 64, chunkDims: 64, rowsPerThread: 4, unroll: false },
  { dtype: "f16", headDim: 96, rotaryDim: 96, chunkDims: 32, rowsPerThread: 8, unroll: true },
];

test("every kernel's WGSL declares the struct its layout generates, once, and binds it as the uniform", () => {
  for (const [name, kernel] of Object.entries(KERNELS)) {
    for (const o of VARIANTS) {
      const wgsl = kernel.wgsl(o);
      assert.ok(wgsl.includes(kernel.params.wgsl), `${name} (${JSON.stringify(o)}) lacks its generated struct`);
      assert.equal(wgsl.split("struct Params").length, 2, `${name}: one struct Params`);
      assert.match(wgsl, /@group\(0\) @binding\(0\) var<uniform> \w+: Params;/, name);
    }
  }
});

test("print-wgsl's catalog holds every uniform layout declared in kernels/wgsl/", async () => {
  const layouts = new Set(Object.values(KERNELS).map((k) => k.params));
  const dir = new URL("../kernels/wgsl/", import.meta.url);
  for (const file of readdirSync(dir).filter((f) => /\.[jt]s$/.test(f) && !f.endsWith(".d.ts"))) {
    const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (name.endsWith("_PARAMS")) assert.ok(layouts.has(value as { wgsl: string }), `${file}: ${name} is not in KERNELS`);
    }
  }
});

test("print-wgsl: no name lists the kernels; a name prints the host's WGSL for the options", () => {
  assert.deepEqual(printWgsl([]).split("\n").map((l) => l.split(" ")[0]), Object.keys(KERNELS));
  assert.equal(printWgsl(["matmul", "--dtype", "f16"]), matmulWgsl("f16"));
  assert.equal(
    printWgsl(["flash-attention", "--head-dim", "64", "--rows-per-thread", "8"]),
    flashAttentionWgsl({ dtype: "f32", headDim: 64, rotaryDim: 64, chunkDims: 64, rowsPerThread: 8, unroll: false }),
  );
  assert.throws(() => printWgsl(["no-such-kernel"]), /no kernel no-such-kernel[^]*usage:/);
  assert.throws(() => printWgsl(["flash-attention", "--chunk-dims", "48"]), /--chunk-dims 48: expected 32 or 64/);
  assert.throws(() => printWgsl(["matmul", "--bogus"]), /usage:/);
});
