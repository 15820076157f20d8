// Turns ggml tensor data (float and block-quantized types) into float32, exactly as ggml's dequantize_row_* do
// (ggml/src/ggml-quants.c), so a quantized GGUF's weights are the values llama.cpp multiplies by.
import { fromFloat16Bits } from "../core/float16.ts";
import { decodeTensor } from "./decode-tensor.ts";

/** The ggml types decoded here, by type id. */
export const GGML_DECODED: Readonly<Record<number, string>> = {
  0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16",
};

/** Names of the other ggml types, for the refusal line. */
const OTHER_NAMES: Readonly<Record<number, string>> = {
  9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL",
  21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
};

/**
 * A ggml type's name (`type 42` when unknown).
 *
 * @example
 * ggmlTypeName(12); // "Q4_K"
 */
export function ggmlTypeName(type: number): string {
  return GGML_DECODED[type] ?? OTHER_NAMES[type] ?? `type ${type}`;
}

/** [values, bytes] per block of each decoded type. */
const BLOCK: Readonly<Record<number, readonly [number, number]>> = {
  0: [1, 4], 1: [1, 2], 30: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 12: [256, 144], 13: [256, 176], 14: [256, 210],
};

/**
 * Values per block of a decoded type (rows must hold whole blocks).
 *
 * @example
 * ggmlBlockValues(8); // 32 (Q8_0)
 */
export function ggmlBlockValues(type: number): number {
  return BLOCK[type]![0];
}

/**
 * Bytes that `values` values of a decoded type occupy.
 *
 * @example
 * ggmlBytes(14, 4096); // 3360: 16 Q6_K blocks of 210 bytes
 */
export function ggmlBytes(type: number, values: number): number {
  const [n, bytes] = BLOCK[type]!;
  return (values / n) * bytes;
}

/** The unquantized types, decoded in bulk. */
const FLOATS: Readonly<Record<number, "F32" | "F16" | "BF16">> = { 0: "F32", 1: "F16", 30: "BF16" };

type BlockDecoder = (v: DataView, at: number, out: Float32Array, o: number) => void;

const half = (v: DataView, at: number) => fromFloat16Bits(new Uint16Array([v.getUint16(at, true)]))[0]!;

/** Q4_K and Q5_K pack eight 6-bit scales and mins into 12 bytes (ggml's get_scale_min_k4). */
function scaleMinK4(v: DataView, scales: number, j: number): [number, number] {
  const q = (i: number) => v.getUint8(scales + i);
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/** Q4_0/Q4_1/Q5_0/Q5_1: low nibbles are values 0..15 of the block, high nibbles 16..31; Q5 adds a fifth bit from qh. */
function legacyBlock(withMin: boolean, withHighBit: boolean): BlockDecoder {
  return (v, at, out, o) => {
    const d = half(v, at);
    const m = withMin ? half(v, at + 2) : 0;
    let p = at + (withMin ? 4 : 2);
    const qh = withHighBit ? v.getUint32(p, true) : 0;
    if (withHighBit) p += 4;
    // Without a min the values are centred: 4 bits less 8, 5 bits less 16.
    const offset = withMin ? 0 : withHighBit ? 16 : 8;
    for (let j = 0; j < 16; j++) {
      const b = v.getUint8(p + j);
      const h0 = withHighBit ? ((qh >>> j) << 4) & 0x10 : 0;
      const h1 = withHighBit ? (qh >>> (j + 12)) & 0x10 : 0;
      out[o + j] = Math.fround((((b & 0xf) | h0) - offset) * d + m);
      out[o + j + 16] = Math.fround((((b >> 4) | h1) - offset) * d + m);
    }
  };
}

const DECODERS: Readonly<Record<number, BlockDecoder>> = {
  2: legacyBlock(false, false),
  3: legacyBlock(true, false),
  6: legacyBlock(false, true),
  7: legacyBlock(true, true),
  8: (v, at, out, o) => {
    const d = half(v, at);
    for (let j = 0; j < 32; j++) out[o + j] = Math.fround(v.getInt8(at + 2 + j) * d);
  },
  // Q4_K: d, dmin (f16), 12 bytes of scales/mins, 128 bytes of nibbles; 4 groups of 64 values, low nibbles then high.
  12: (v, at, out, o) => kQuant(v, at, out, o, false),
  // Q5_K: as Q4_K with a 32-byte qh of fifth bits before the nibbles.
  13: (v, at, out, o) => kQuant(v, at, out, o, true),
  // Q6_K: 128 bytes of low nibbles, 64 of 2-bit highs, 16 signed scales, then d; two halves of 128 values.
  14: (v, at, out, o) => {
    const d = half(v, at + 208);
    for (let n = 0; n < 2; n++) {
      const ql = at + 64 * n, qh = at + 128 + 32 * n, sc = at + 192 + 8 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const lo = v.getUint8(ql + l), lo2 = v.getUint8(ql + l + 32), h = v.getUint8(qh + l);
        const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((lo2 & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((lo2 >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const base = o + 128 * n + l;
        out[base] = Math.fround(Math.fround(d * v.getInt8(sc + is)) * q1);
        out[base + 32] = Math.fround(Math.fround(d * v.getInt8(sc + is + 2)) * q2);
        out[base + 64] = Math.fround(Math.fround(d * v.getInt8(sc + is + 4)) * q3);
        out[base + 96] = Math.fround(Math.fround(d * v.getInt8(sc + is + 6)) * q4);
      }
    }
  },
};

function kQuant(v: DataView, at: number, out: Float32Array, o: number, fifthBit: boolean): void {
  const d = half(v, at);
  const dmin = half(v, at + 2);
  const scales = at + 4;
  const qh = at + 16;
  const qs = at + (fifthBit ? 48 : 16);
  for (let g = 0; g < 4; g++) {
    const [s1, m1] = scaleMinK4(v, scales, 2 * g);
    const [s2, m2] = scaleMinK4(v, scales, 2 * g + 1);
    const d1 = Math.fround(d * s1), mm1 = Math.fround(dmin * m1);
    const d2 = Math.fround(d * s2), mm2 = Math.fround(dmin * m2);
    for (let l = 0; l < 32; l++) {
      const b = v.getUint8(qs + 32 * g + l);
      const h = fifthBit ? v.getUint8(qh + l) : 0;
      const lo = (b & 0xf) + (h & (1 << (2 * g)) ? 16 : 0);
      const hi = (b >> 4) + (h & (2 << (2 * g)) ? 16 : 0);
      out[o + 64 * g + l] = Math.fround(Math.fround(d1 * lo) - mm1);
      out[o + 64 * g + 32 + l] = Math.fround(Math.fround(d2 * hi) - mm2);
    }
  }
}

/**
 * `count` values of ggml type `type` from `bytes` (whole blocks), as float32.
 *
 * @example
 * const row = dequantize(8, bytes, 4096); // a Q8_0 row of 4096 weights
 */
export function dequantize(type: number, bytes: Uint8Array, count: number): Float32Array {
  const float = FLOATS[type];
  if (float) return decodeTensor(bytes.subarray(0, count * BLOCK[type]![1]), float);
  const decode = DECODERS[type];
  if (!decode) throw new RangeError(`ggml ${ggmlTypeName(type)} is not decoded`);
  const [n, size] = BLOCK[type]!;
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / n; b++) decode(view, b * size, out, b * n);
  return out;
}
