// The protobuf wire format, read and written by hand so that a model's big initializers are skipped
// (only their offsets are kept) instead of being decoded: a 1 GB model is walked in a few reads.
import { ModelFormatError } from "../../src/core/errors.ts";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field of a message: where its tag starts, where its value lies, where it ends (all absolute offsets). */
export interface WireField {
  field: number;
  wire: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the value (after the length prefix for WIRE_LEN). */
  valueStart: number;
  /** End of the field (exclusive). */
  end: number;
  /** The varint value for WIRE_VARINT (as a number; ONNX varints used here fit in 2^53). */
  varint?: number;
}

/** Thrown by the reader on malformed bytes; callers turn it into an OnnxFormatError naming the file. */
export class WireError extends ModelFormatError {
  override name = "WireError";
}

/** Random access to bytes: a file read through a small window, or bytes already in memory. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.bytes.length) throw new WireError(undefined, `read past the end at ${offset}`);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** Reads a file through a cached window, so scanning tags costs one syscall per window, not per byte. */
export class FileSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private window = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    path: string,
    private readonly windowSize = 1 << 20,
  ) {
    this.fd = openSync(path, "r");
    this.size = fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.size) throw new WireError(undefined, `read past the end at ${offset}`);
    if (offset >= this.windowStart && offset + length <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, offset - this.windowStart + length);
    }
    if (length > this.windowSize) {
      const out = new Uint8Array(length);
      readFully(this.fd, out, offset);
      return out;
    }
    const n = Math.min(this.windowSize, this.size - offset);
    const buf = new Uint8Array(n);
    readFully(this.fd, buf, offset);
    this.window = buf;
    this.windowStart = offset;
    return buf.subarray(0, length);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n <= 0) throw new WireError(undefined, `unexpected end of file at ${position + done}`);
    done += n;
  }
}

/**
 * Decodes a varint at `offset`; returns its value and the offset after it. ONNX's varints are int64s (or smaller):
 * up to 7 bytes (49 bits) the float sum is exact; a longer one (a negative int64 takes 10 bytes) is read exactly as
 * two's complement, so a -1 does not turn into 1.8e19.
 */
export function readVarint(src: ByteSource, offset: number): { value: number; next: number } {
  const avail = Math.min(10, src.size - offset);
  if (avail <= 0) throw new WireError(undefined, `truncated varint at ${offset}`);
  const b = src.read(offset, avail);
  let last = 0;
  while (last < b.length && (b[last] & 0x80) !== 0) last++;
  if (last === b.length) throw new WireError(undefined, `truncated varint at ${offset}`);
  if (last < 7) {
    let value = 0;
    for (let i = 0, mul = 1; i <= last; i++, mul *= 128) value += (b[i] & 0x7f) * mul;
    return { value, next: offset + last + 1 };
  }
  let big = 0n;
  for (let i = last; i >= 0; i--) big = (big << 7n) | BigInt(b[i] & 0x7f);
  return { value: Number(BigInt.asIntN(64, big)), next: offset + last + 1 };
}

/** Iterates the fields of the message in [start, end), validating wire types and lengths. */
export function* fields(src: ByteSource, start: number, end: number): Generator<WireField> {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(src, pos);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) throw new WireError(undefined, `field number 0 at ${pos}`);
    let valueStart = tag.next;
    let fieldEnd: number;
    let varint: number | undefined;
    if (wire === WIRE_VARINT) {
      const v = readVarint(src, tag.next);
      varint = v.value;
      fieldEnd = v.next;
    } else if (wire === WIRE_I64) {
      fieldEnd = tag.next + 8;
    } else if (wire === WIRE_I32) {
      fieldEnd = tag.next + 4;
    } else if (wire === WIRE_LEN) {
      const len = readVarint(src, tag.next);
      valueStart = len.next;
      fieldEnd = len.next + len.value;
    } else {
      throw new WireError(undefined, `unsupported wire type ${wire} at ${pos}`);
    }
    if (fieldEnd > end) throw new WireError(undefined, `field ${field} at ${pos} runs past its message (ends ${fieldEnd} > ${end})`);
    yield { field, wire, start: pos, valueStart, end: fieldEnd, varint };
    pos = fieldEnd;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const utf8Enc = new TextEncoder();

export function readString(src: ByteSource, f: WireField): string {
  return utf8.decode(src.read(f.valueStart, f.end - f.valueStart));
}

/** Reads a repeated int64 field entry: either packed (WIRE_LEN) or one varint. */
export function readInt64s(src: ByteSource, f: WireField): number[] {
  if (f.wire === WIRE_VARINT) return [f.varint ?? 0];
  const out: number[] = [];
  let pos = f.valueStart;
  while (pos < f.end) {
    const v = readVarint(src, pos);
    out.push(v.value);
    pos = v.next;
  }
  return out;
}

// ---- writing ----

export function encodeVarint(value: number): Uint8Array {
  if (value < 0 || !Number.isInteger(value)) throw new WireError(undefined, `cannot encode varint ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function lenField(field: number, payload: Uint8Array): Uint8Array {
  return concatBytes([encodeVarint(field * 8 + WIRE_LEN), encodeVarint(payload.length), payload]);
}

export function stringField(field: number, s: string): Uint8Array {
  return lenField(field, utf8Enc.encode(s));
}

export function varintField(field: number, value: number): Uint8Array {
  return concatBytes([encodeVarint(field * 8 + WIRE_VARINT), encodeVarint(value)]);
}

/** Re-emits a message, replacing (or dropping, with an empty result) the fields `edit` returns bytes for. */
export function rewriteMessage(bytes: Uint8Array, edit: (f: WireField, src: ByteSource) => Uint8Array | undefined): Uint8Array {
  const src = new MemorySource(bytes);
  const parts: Uint8Array[] = [];
  for (const f of fields(src, 0, bytes.length)) {
    const replaced = edit(f, src);
    parts.push(replaced ?? bytes.subarray(f.start, f.end));
  }
  return concatBytes(parts);
}
