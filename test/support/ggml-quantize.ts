// Quantizes float32 rows into ggml block formats for the quantized fixtures (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 as
// ggml's reference quantizers; Q4_K, Q5_K and Q6_K by a plain min/max fit: valid blocks, not llama-quantize's
// optimised ones).
// llama.cpp reads the files these make, so a wrong layout here fails the llama.cpp judge, not only our reader.
import { fromFloat16Bits, toFloat16Bits } from "../../src/core/float16.ts";

/** ggml type ids this module writes. */
export const GGML = { F32: 0, F16: 1, BF16: 30, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q4_K: 12, Q5_K: 13, Q6_K: 14 } as const;
export type QuantType = keyof typeof GGML;

/** The value a float becomes once stored as f16 (scales are stored so). */
const asHalf = (x: number) => fromFloat16Bits(toFloat16Bits(Float32Array.of(x)))[0]!;
const setHalf = (v: DataView, at: number, x: number) => v.setUint16(at, toFloat16Bits(Float32Array.of(x))[0]!, true);

function q8_0(x: Float32Array, v: DataView, o: number): void {
  let amax = 0;
  for (const a of x) amax = Math.max(amax, Math.abs(a));
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  setHalf(v, o, d);
  for (let j = 0; j < 32; j++) v.setInt8(o + 2 + j, Math.round(x[j]! * id));
}

function q4_0(x: Float32Array, v: DataView, o: number): void {
  let amax = 0, max = 0;
  for (const a of x) if (Math.abs(a) > amax) { amax = Math.abs(a); max = a; }
  const d = max / -8;
  const id = d ? 1 / d : 0;
  setHalf(v, o, d);
  const q = (a: number) => Math.min(15, Math.trunc(a * id + 8.5));
  for (let j = 0; j < 16; j++) v.setUint8(o + 2 + j, q(x[j]!) | (q(x[j + 16]!) << 4));
}

/** Q4_1, Q5_0, Q5_1 as ggml's reference quantizers: a scale (and min) per 32 values; Q5 keeps the fifth bits in qh. */
function legacy(bits: 4 | 5, withMin: boolean) {
  return (x: Float32Array, v: DataView, o: number): void => {
    const levels = (1 << bits) - 1;
    let q: (a: number) => number;
    let at = o;
    if (withMin) {
      const lo = Math.min(...x), hi = Math.max(...x);
      const d = (hi - lo) / levels;
      const id = d ? 1 / d : 0;
      setHalf(v, at, d);
      setHalf(v, at + 2, lo);
      at += 4;
      q = (a) => Math.min(levels, Math.trunc((a - lo) * id + 0.5));
    } else {
      let amax = 0, max = 0;
      for (const a of x) if (Math.abs(a) > amax) { amax = Math.abs(a); max = a; }
      const d = max / -16;
      const id = d ? 1 / d : 0;
      setHalf(v, at, d);
      at += 2;
      q = (a) => Math.min(31, Math.trunc(a * id + 16.5));
    }
    let qh = 0;
    const qs = at + (bits === 5 ? 4 : 0);
    for (let j = 0; j < 16; j++) {
      const a = q(x[j]!), b = q(x[j + 16]!);
      v.setUint8(qs + j, (a & 0xf) | ((b & 0xf) << 4));
      qh |= ((a >> 4) << j) | ((b >> 4) << (j + 16));
    }
    if (bits === 5) v.setUint32(at, qh >>> 0, true);
  };
}

/** Q4_K (and Q5_K, with 5-bit values): 8 sub-blocks of 32 with a 6-bit scale and min each, relative to the block's f16 d and dmin. */
function kQuant(fifthBit: boolean) {
  return (x: Float32Array, v: DataView, o: number): void => kBlock(x, v, o, fifthBit);
}

function kBlock(x: Float32Array, v: DataView, o: number, fifthBit: boolean): void {
  const levels = fifthBit ? 31 : 15;
  const scale: number[] = [], min: number[] = [];
  for (let s = 0; s < 8; s++) {
    const sub = x.subarray(32 * s, 32 * s + 32);
    const lo = Math.min(0, ...sub), hi = Math.max(...sub);
    scale.push((hi - lo) / levels);
    min.push(-lo);
  }
  const d = asHalf(Math.max(...scale) / 63), dmin = asHalf(Math.max(...min) / 63);
  const ls = scale.map((s) => (d ? Math.min(63, Math.round(s / d)) : 0));
  const lm = min.map((m) => (dmin ? Math.min(63, Math.round(m / dmin)) : 0));
  setHalf(v, o, d);
  setHalf(v, o + 2, dmin);
  for (let j = 0; j < 4; j++) {
    v.setUint8(o + 4 + j, ls[j]! | ((ls[j + 4]! >> 4) << 6));
    v.setUint8(o + 8 + j, lm[j]! | ((lm[j + 4]! >> 4) << 6));
    v.setUint8(o + 12 + j, (ls[j + 4]! & 0xf) | ((lm[j + 4]! & 0xf) << 4));
  }
  const q = (i: number) => {
    const s = i >> 5;
    const step = d * ls[s]!;
    return step ? Math.max(0, Math.min(levels, Math.round((x[i]! + dmin * lm[s]!) / step))) : 0;
  };
  // Q5_K: 32 bytes of fifth bits (bit 2g of byte l for value 64g + l, bit 2g + 1 for 64g + 32 + l), then the nibbles.
  const qs = o + (fifthBit ? 48 : 16);
  for (let g = 0; g < 4; g++) {
    for (let l = 0; l < 32; l++) {
      const a = q(64 * g + l), b = q(64 * g + 32 + l);
      v.setUint8(qs + 32 * g + l, (a & 0xf) | ((b & 0xf) << 4));
      if (fifthBit) v.setUint8(o + 16 + l, v.getUint8(o + 16 + l) | ((a >> 4) << (2 * g)) | ((b >> 4) << (2 * g + 1)));
    }
  }
}

/** Q6_K: 16 sub-blocks of 16 values, signed 8-bit scales relative to the block's f16 d, 6-bit values. */
function q6_K(x: Float32Array, v: DataView, o: number): void {
  const scale: number[] = [];
  for (let s = 0; s < 16; s++) scale.push(Math.max(...x.subarray(16 * s, 16 * s + 16).map(Math.abs)) / 31);
  const d = asHalf(Math.max(...scale) / 127);
  const sc = scale.map((s) => (d ? Math.min(127, Math.round(s / d)) : 0));
  const q = (i: number) => {
    const step = d * sc[i >> 4]!;
    return (step ? Math.max(-32, Math.min(31, Math.round(x[i]! / step))) : 0) + 32;
  };
  for (let n = 0; n < 2; n++) {
    for (let l = 0; l < 32; l++) {
      const base = 128 * n + l;
      const [q1, q2, q3, q4] = [q(base), q(base + 32), q(base + 64), q(base + 96)];
      v.setUint8(o + 64 * n + l, (q1 & 0xf) | ((q3 & 0xf) << 4));
      v.setUint8(o + 64 * n + l + 32, (q2 & 0xf) | ((q4 & 0xf) << 4));
      v.setUint8(o + 128 + 32 * n + l, (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
  for (let s = 0; s < 16; s++) v.setInt8(o + 192 + s, sc[s]!);
  setHalf(v, o + 208, d);
}

/** bf16 by rounding to nearest even, as torch does. */
export function toBf16(x: Float32Array): Uint8Array {
  const bits = new Uint32Array(x.slice().buffer);
  return new Uint8Array(Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16).buffer);
}

const BLOCKS: Record<Exclude<QuantType, "F32" | "F16" | "BF16">, { values: number; bytes: number; write: typeof q8_0 }> = {
  Q8_0: { values: 32, bytes: 34, write: q8_0 },
  Q4_0: { values: 32, bytes: 18, write: q4_0 },
  Q4_1: { values: 32, bytes: 20, write: legacy(4, true) },
  Q5_0: { values: 32, bytes: 22, write: legacy(5, false) },
  Q5_1: { values: 32, bytes: 24, write: legacy(5, true) },
  Q4_K: { values: 256, bytes: 144, write: kQuant(false) },
  Q5_K: { values: 256, bytes: 176, write: kQuant(true) },
  Q6_K: { values: 256, bytes: 210, write: q6_K },
  // All-zero blocks (d = dmin = 0: every value 0), for a file in a type the evaluator refuses.
  Q2_K: { values: 256, bytes: 84, write: () => {} },
};

/** `x` (whole blocks) stored as `type`. */
export function quantize(x: Float32Array, type: QuantType): Uint8Array {
  if (type === "F32") return new Uint8Array(x.slice().buffer);
  if (type === "F16") return new Uint8Array(toFloat16Bits(x).buffer);
  if (type === "BF16") return toBf16(x);
  const b = BLOCKS[type];
  if (x.length % b.values !== 0) throw new Error(`${type}: ${x.length} values are not whole blocks of ${b.values}`);
  const out = new Uint8Array((x.length / b.values) * b.bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < x.length / b.values; i++) b.write(x.subarray(i * b.values, (i + 1) * b.values), view, i * b.bytes);
  return out;
}
