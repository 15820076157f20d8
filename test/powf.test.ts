// torchPowf: a port of SLEEF's xpowf (u10, FMA build), which torch's vectorised CPU pow calls.
import { test } from "./support/harness.ts";
import assert from "node:assert/strict";
import { fmaf, posFreq, torchPowf, ulpDistance } from "../src/core/rope/float32.ts";
import { yarnInvFreq } from "../src/core/rope/yarn.ts";
import { seededRandom } from "../src/core/random.ts";

const f32 = Math.fround;

test("torchPowf stays within 1 ulp of the correctly rounded power", () => {
  const next = seededRandom(20260125);
  let differing = 0;
  for (let i = 0; i < 5000; i++) {
    const x = f32(1e3 + next() * (1e7 - 1e3));
    const y = f32(next());
    const got = torchPowf(x, y);
    const want = f32(Math.pow(x, y));
    const u = ulpDistance(got, want);
    assert.ok(u <= 1, `powf(${x}, ${y}) = ${got}, correctly rounded ${want} (${u} ulp)`);
    if (u) differing++;
  }
  // SLEEF is faithful, not correctly rounded: a few results differ, most do not.
  assert.ok(differing < 250, `${differing} of 5000 differ`);
});

test("torchPowf reproduces torch's float32 pow where it is not correctly rounded", () => {
  // base 1e6, head_dim 128, j = 37 (Qwen2.5 / Qwen3): torch gives 2942.72705078125, Math.pow 2942.727294921875.
  assert.equal(torchPowf(1e6, f32(74 / 128)), 2942.72705078125);
  assert.equal(f32(Math.pow(1e6, f32(74 / 128))), 2942.727294921875);
  assert.equal(posFreq(1e6, 37, 128), 2942.72705078125);
  // ... which makes transformers' YaRN inv_freq[37] (factor 4, original context 32768) what torch prints.
  const { invFreq } = yarnInvFreq({ dim: 128, base: 1e6, factor: 4, originalContext: 32768 });
  assert.equal(invFreq[37], 0.00012993148993700743);
  // base 10000, head_dim 96, j = 20 (Phi-3 longrope): SLEEF is one ulp away from the correctly rounded value.
  const phi = torchPowf(10000, f32(40 / 96));
  assert.equal(ulpDistance(phi, f32(Math.pow(10000, f32(40 / 96)))), 1);
  assert.equal(posFreq(10000, 20, 96), phi);
});

test("torchPowf agrees with torch on exact and special cases", () => {
  assert.equal(torchPowf(10000, 0), 1);
  assert.equal(torchPowf(500000, 0), 1);
  assert.equal(torchPowf(2, 10), 1024);
  assert.equal(torchPowf(10000, 0.5), 100);
  assert.equal(torchPowf(1, NaN), 1);
  assert.equal(torchPowf(NaN, 0), 1);
  assert.ok(Number.isNaN(torchPowf(NaN, 1)));
  assert.ok(Number.isNaN(torchPowf(-2, 0.5)));
  assert.equal(torchPowf(-2, 3), -8);
  assert.equal(torchPowf(0, 2), 0);
  assert.equal(torchPowf(0, -1), Infinity);
  assert.equal(torchPowf(-0, -1), -Infinity);
  assert.equal(torchPowf(Infinity, -1), 0);
  assert.equal(torchPowf(0.5, Infinity), 0);
  assert.equal(torchPowf(2, Infinity), Infinity);
  assert.equal(torchPowf(-1, Infinity), 1);
  assert.equal(torchPowf(10, 40), Infinity);
  assert.equal(torchPowf(10, -50), 0);
});

test("fmaf rounds once", () => {
  // a*a = 1 + 2^-11 + 2^-24 lies on a float midpoint; adding 2^-60 moves the exact sum just above it.
  // Rounded to double first, the 2^-60 is lost and the tie goes to even (1 + 2^-11): fmaf must not do that.
  const a = f32(1 + 2 ** -12);
  assert.equal(f32(a * a + 2 ** -60), f32(1 + 2 ** -11));
  assert.equal(fmaf(a, a, 2 ** -60), f32(1 + 2 ** -11 + 2 ** -23));
  assert.equal(fmaf(a, a, -(2 ** -60)), f32(1 + 2 ** -11));
  assert.equal(fmaf(3, 5, 7), 22);
  assert.equal(fmaf(f32(0.1), f32(10), -1), f32(f32(0.1) * 10 - 1));
});
