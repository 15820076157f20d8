import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError, inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import type { GgufProblem } from "../converters/gguf/index.ts";
import { openRemoteSource } from "../converters/gguf/source.ts";
import { readGgufHeader } from "../converters/gguf/read.ts";
import { plan } from "../src/core/plan.ts";
import { bytesFetch, makeGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

const U32 = GGUFValueType.UINT32;
const base = makeGguf({
  arch: "llama",
  kv: { "llama.context_length": { value: 4096, type: U32 }, "llama.rope.dimension_count": { value: 64, type: U32 } },
  tensors: [
    { name: "a", shape: [64, 3] },
    { name: "b", shape: [7] },
  ],
});
// Layout of `base`: magic, version, tensor count @8, kv count @16, then the first key
// ("general.architecture": u64 length @24, 20 bytes) and its value type @52, string length @56.
const set64 = (b: Uint8Array, at: number, v: bigint) => new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
const set32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
const mutate = (f: (b: Uint8Array) => Uint8Array | void) => {
  const b = base.slice();
  return f(b) ?? b;
};

const cases: Array<[string, Uint8Array, GgufProblem, RegExp]> = [
  ["not a GGUF", new TextEncoder().encode('{"model_type": "llama"}'), "not-gguf", /not a GGUF file/],
  ["an empty file", new Uint8Array(0), "not-gguf", /not a GGUF file/],
  ["a truncated fixed header", base.slice(0, 12), "truncated", /truncated header/],
  ["a header cut in the middle of the metadata", base.slice(0, 90), "truncated", /past the end|truncated/],
  ["GGUF version 4", mutate((b) => set32(b, 4, 4)), "version", /unsupported GGUF version 4/],
  ["GGUF version 1", mutate((b) => set32(b, 4, 1)), "version", /unsupported GGUF version 1 /],
  ["kv count 2^60", mutate((b) => set64(b, 16, 1n << 60n)), "limits", /1152921504606846976 key\/values/],
  ["tensor count 2^40", mutate((b) => set64(b, 8, 1n << 40n)), "limits", /cannot fit/],
  ["a string length larger than the file", mutate((b) => set64(b, 56, BigInt(base.length + 1000))), "limits", /2024 at byte 56 exceeds the file size \(1024 bytes\)/],
  ["a string length past the end of the file", mutate((b) => set64(b, 56, BigInt(base.length - 40))), "truncated", /runs past the end of the file \(1024 bytes\)/],
  ["a string length of 2^62", mutate((b) => set64(b, 56, 1n << 62n)), "limits", /4611686018427387904 at byte 56 exceeds/],
  ["an unknown value type", mutate((b) => set32(b, 52, 99)), "value-type", /unknown metadata value type 99/],
  ["no architecture key", makeGguf({ noArch: true, tensors: [{ name: "a", shape: [4] }] }), "no-architecture", /no general\.architecture/],
  ["tensor data shorter than the tensor infos claim", base.slice(0, base.length - 40), "data-short", /tensor data is shorter/],
];

test("bad GGUFs end in one GgufError line naming the file and the problem, and nothing is written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-gguf-bad-"));
  try {
    const spec = { theta: 10000, headDim: 64, rotaryDim: 64, context: 4096, originalContext: 4096, scaling: { method: "none" as const } };
    for (const [what, bytes, problem, message] of cases) {
      const file = join(dir, "model.gguf");
      writeFileSync(file, bytes);
      const err = await inspectGguf(file).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof GgufError, `${what}: expected a GgufError, got ${String(err)}`);
      assert.equal(err.code, problem, `${what}: ${err.message}`);
      assert.match(err.message, message, what);
      assert.ok(err.message.startsWith(`${file}: `), `${what}: ${err.message}`);
      assert.ok(!err.message.includes("\n"), `${what}: one line`);
      assert.ok(err.exitCode !== 0);
      const out = join(dir, "out.gguf");
      await assert.rejects(patchGguf({ source: file, plan: plan(spec, { factor: 2 }), out }), GgufError, what);
      assert.ok(!existsSync(out), `${what}: nothing written`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("remote failures: HTTP errors and servers that ignore Range requests", async () => {
  const url = "https://example.invalid/m.gguf";
  const notFound = (async () => new Response("no", { status: 404, statusText: "Not Found" })) as typeof fetch;
  await assert.rejects(inspectGguf(url, { fetch: notFound }), /m\.gguf: HTTP 404 Not Found$/);
  const big = new Uint8Array(5_000_000);
  big.set(base);
  const ignoresRange = (async () => new Response(big, { status: 200, headers: { "content-length": String(big.length) } })) as typeof fetch;
  await assert.rejects(inspectGguf(url, { fetch: ignoresRange }), /ignored the Range request/);
  // A remote file that stops early is reported like a local one.
  const short = bytesFetch(base.slice(0, base.length - 40));
  await assert.rejects(readGgufHeader(openRemoteSource(url, { fetch: short.fetch })), /tensor data is shorter/);
});

test("a real model cut short is refused before anything is written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-gguf-cut-"));
  try {
    const whole = readFileSync(sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"));
    const cut = join(dir, "cut.gguf");
    writeFileSync(cut, whole.subarray(0, 60_000));
    await assert.rejects(inspectGguf(cut), (e: unknown) => e instanceof GgufError && e.code === "truncated");
    writeFileSync(cut, whole.subarray(0, whole.length - 1_000_000));
    await assert.rejects(inspectGguf(cut), (e: unknown) => e instanceof GgufError && e.code === "data-short");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
