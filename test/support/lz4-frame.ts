// LZ4 frame decoding for the stand-in CAS: xet clients compress xorb chunks as LZ4 frames
// (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md, block format in lz4_Block_format.md).
// Strict: the output must be exactly `size` bytes and every read stays inside the input, so a bad chunk is
// reported instead of decoded into garbage.

const MAGIC = 0x184d2204;

export function decodeLz4Frame(src: Uint8Array, size: number): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const fail = (why: string): never => {
    throw new RangeError(`LZ4 frame: ${why}`);
  };
  if (src.length < 7 || view.getUint32(0, true) !== MAGIC) fail("bad magic");
  const flg = src[4];
  if (flg >> 6 !== 1) fail("unsupported version");
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  let s = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1; // FLG, BD, options, header checksum
  const dst = new Uint8Array(size);
  let d = 0;
  for (;;) {
    if (s + 4 > src.length) fail("truncated block size");
    const word = view.getUint32(s, true);
    s += 4;
    if (word === 0) break;
    const n = word & 0x7fffffff;
    if (s + n > src.length) fail("truncated block");
    if (word & 0x80000000) {
      if (d + n > size) fail("output larger than declared");
      dst.set(src.subarray(s, s + n), d);
      d += n;
    } else {
      d = decodeBlock(src, s, s + n, dst, d, fail);
    }
    s += n + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) s += 4;
  if (d !== size) fail(`decoded ${d} bytes, expected ${size}`);
  if (s > src.length) fail("truncated end mark");
  return dst;
}

function decodeBlock(src: Uint8Array, s: number, end: number, dst: Uint8Array, d: number, fail: (why: string) => never): number {
  const length = (base: number): number => {
    let n = base;
    if (base === 15) {
      for (;;) {
        if (s >= end) fail("truncated length");
        const b = src[s++];
        n += b;
        if (b !== 255) break;
      }
    }
    return n;
  };
  while (s < end) {
    const token = src[s++];
    const literals = length(token >> 4);
    if (s + literals > end || d + literals > dst.length) fail("literals out of bounds");
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s >= end) break; // the last sequence has literals only
    if (s + 2 > end) fail("truncated match offset");
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    const match = length(token & 15) + 4;
    if (offset === 0 || offset > d || d + match > dst.length) fail("match out of bounds");
    // Byte by byte: a match may overlap the bytes it produces (offset < length).
    for (let i = 0; i < match; i++, d++) dst[d] = dst[d - offset];
  }
  return d;
}
