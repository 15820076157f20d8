// Stands in for the GGUF converter in hub tests (the converter is built on another branch): reads the first
// bytes over Range with the location's auth, as the real reader does, checks the magic, and returns a header
// 32 bytes longer than the 64 it replaces, with the plan of a 2048-token model.
import assert from "node:assert/strict";
import type { GgufHeaderPatcher } from "../../src/hub/patch-hub-gguf.ts";
import { plan } from "../../src/core/plan.ts";

export const fakeGgufPatcher: GgufHeaderPatcher = async ({ location, target }) => {
  const res = await location.fetch(location.url, { headers: { ...location.headers, Range: "bytes=0-3" } });
  assert.equal(new TextDecoder().decode(await res.arrayBuffer()), "GGUF");
  const p = plan({ theta: 10000, headDim: 64, rotaryDim: 64, context: 2048, scaling: { method: "none" } }, target);
  return { header: new Uint8Array(96).fill(1), replaces: 64, plan: p };
};
