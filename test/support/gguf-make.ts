// Builds GGUF files for tests and benchmarks: typed metadata, F32 tensors, any alignment; the data
// region is streamed so multi-GiB files cost no memory.
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { readGgufHeader } from "../../converters/gguf/read.ts";
import { openLocalSource } from "../../converters/gguf/source.ts";
import { GGUFValueType, serializeGgufMetadata } from "@huggingface/gguf";
import type { GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import { tensorBytes as ggmlTensorBytes } from "../../converters/gguf/ggml-types.ts";

export interface MakeTensor {
  name: string;
  shape: number[];
  /** ggml type (default F32); makeGguf fills any type with a byte pattern. */
  type?: number;
  /** F32 values to store (a frequency tensor); other tensors get a deterministic byte pattern. */
  values?: readonly number[];
}

export interface MakeGgufParams {
  arch?: string;
  /** Extra metadata, typed; `general.architecture` is added from `arch` unless `noArch`. */
  kv?: Record<string, { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType }>;
  tensors: MakeTensor[];
  alignment?: number;
  noArch?: boolean;
}

/** A model's shape and RoPE as a GGUF header states them; only the keys given are written. */
export interface ModelKeys {
  context?: number;
  embedding?: number;
  blocks?: number;
  heads?: number;
  headsKv?: number;
  keyLength?: number;
  valueLength?: number;
  slidingWindow?: number;
  ropeDim?: number;
  theta?: number;
  scaling?: { type?: string; factor?: number; originalContext?: number; attnFactor?: number };
}

/**
 * The `arch.*` keys of a model as convert_hf_to_gguf.py writes them (sizes U32, the base and factors F32), in its
 * order: the header fixtures of the tests spelled once.
 *
 * @example
 * makeGguf({ arch: "llama", kv: modelKv("llama", { context: 4096, embedding: 256, heads: 4, theta: 500000 }), tensors });
 */
export function modelKv(arch: string, m: ModelKeys): NonNullable<MakeGgufParams["kv"]> {
  const U32 = GGUFValueType.UINT32, F32 = GGUFValueType.FLOAT32;
  const keys: [string, number | string | undefined, GGUFValueType][] = [
    ["context_length", m.context, U32],
    ["embedding_length", m.embedding, U32],
    ["block_count", m.blocks, U32],
    ["attention.head_count", m.heads, U32],
    ["attention.head_count_kv", m.headsKv, U32],
    ["attention.key_length", m.keyLength, U32],
    ["attention.value_length", m.valueLength, U32],
    ["attention.sliding_window", m.slidingWindow, U32],
    ["rope.dimension_count", m.ropeDim, U32],
    ["rope.freq_base", m.theta, F32],
    ["rope.scaling.type", m.scaling?.type, GGUFValueType.STRING],
    ["rope.scaling.factor", m.scaling?.factor, F32],
    ["rope.scaling.original_context_length", m.scaling?.originalContext, U32],
    ["rope.scaling.attn_factor", m.scaling?.attnFactor, F32],
  ];
  return Object.fromEntries(keys.filter(([, value]) => value !== undefined).map(([key, value, type]) => [`${arch}.${key}`, { value: value!, type }]));
}

/** The metadata of a small llama GGUF that `patch` can plan for: context 4096, 4 heads of 64, rotary dim 64. */
export const LLAMA_KV = modelKv("llama", { context: 4096, embedding: 256, heads: 4, ropeDim: 64 });

const pad = (n: number, a: number) => Math.ceil(n / a) * a;

/** Header bytes (through the alignment padding), the byte size of each tensor and its offset in the data. */
export function ggufHeaderBytes(p: MakeGgufParams): { header: Uint8Array; tensorBytes: number[]; offsets: number[] } {
  const alignment = p.alignment ?? 32;
  const meta: Record<string, { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType }> = {
    version: { value: 3, type: GGUFValueType.UINT32 },
    tensor_count: { value: BigInt(p.tensors.length), type: GGUFValueType.UINT64 },
    kv_count: { value: 0n, type: GGUFValueType.UINT64 },
  };
  if (!p.noArch) meta["general.architecture"] = { value: p.arch ?? "llama", type: GGUFValueType.STRING };
  if (p.alignment !== undefined) meta["general.alignment"] = { value: alignment, type: GGUFValueType.UINT32 };
  Object.assign(meta, p.kv ?? {});
  const kvs = serializeGgufMetadata(meta as GGUFTypedMetadata, { alignment: 1 });
  const infos: number[] = [];
  const tensorBytes: number[] = [];
  const offsets: number[] = [];
  const enc = new TextEncoder();
  let offset = 0;
  const u32 = (v: number) => infos.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  const u64 = (v: number) => {
    u32(v % 2 ** 32);
    u32(Math.floor(v / 2 ** 32));
  };
  for (const t of p.tensors) {
    const name = enc.encode(t.name);
    u64(name.length);
    infos.push(...name);
    u32(t.shape.length);
    for (const d of t.shape) u64(d);
    u32(t.type ?? 0);
    u64(offset);
    offsets.push(offset);
    const bytes = Number(ggmlTensorBytes(t.type ?? 0, t.shape.map(BigInt)));
    tensorBytes.push(bytes);
    offset += pad(bytes, alignment);
  }
  const header = new Uint8Array(pad(kvs.length + infos.length, alignment));
  header.set(kvs, 0);
  header.set(infos, kvs.length);
  return { header, tensorBytes, offsets };
}

/** A whole small GGUF in memory; tensor data is a deterministic byte pattern. */
export function makeGguf(p: MakeGgufParams): Uint8Array {
  const alignment = p.alignment ?? 32;
  const { header, tensorBytes, offsets } = ggufHeaderBytes(p);
  const dataLen = tensorBytes.reduce((a, b) => a + pad(b, alignment), 0);
  const out = new Uint8Array(header.length + dataLen);
  out.set(header, 0);
  for (let i = header.length; i < out.length; i++) out[i] = (i * 2654435761) >>> 24;
  const view = new DataView(out.buffer);
  p.tensors.forEach((t, k) => t.values?.forEach((v, i) => view.setFloat32(header.length + offsets[k] + 4 * i, v, true)));
  return out;
}

/** Writes a GGUF of about `dataBytes` of tensor data to `path` in 16 MiB chunks. */
export async function writeBigGguf(path: string, dataBytes: number, kv: MakeGgufParams["kv"] = {}): Promise<{ headerBytes: number; size: number }> {
  const tensorElems = 64 * 1024 * 1024; // 256 MiB per F32 tensor
  const count = Math.max(1, Math.round(dataBytes / (tensorElems * 4)));
  const tensors = Array.from({ length: count }, (_, i) => ({ name: `blk.${i}.weight`, shape: [4096, tensorElems / 4096] }));
  const { header } = ggufHeaderBytes({ kv, tensors });
  const chunk = new Uint8Array(16 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  const total = header.length + count * tensorElems * 4;
  const fh = await open(path, "w");
  try {
    await fh.write(header, 0, header.length, 0);
    for (let pos = header.length; pos < total; pos += chunk.length) {
      const n = Math.min(chunk.length, total - pos);
      chunk[0] = pos & 255; // no two chunks alike
      await fh.write(chunk, 0, n, pos);
    }
  } finally {
    await fh.close();
  }
  return { headerBytes: header.length, size: total };
}

/** A fetch that serves `bytes` with Range support and counts what it sends. */
export function bytesFetch(bytes: Uint8Array): { fetch: typeof fetch; sent: () => number; requests: () => number } {
  let sent = 0;
  let requests = 0;
  const f = (async (_input: unknown, init?: RequestInit) => {
    requests++;
    const range = new Headers(init?.headers).get("range")?.match(/bytes=(\d+)-(\d*)/);
    if (!range) {
      sent += bytes.length;
      return new Response(bytes.slice(), { status: 200, headers: { "content-length": String(bytes.length) } });
    }
    const start = Number(range[1]);
    if (start >= bytes.length) return new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } });
    const end = Math.min(bytes.length - 1, range[2] === "" ? bytes.length - 1 : Number(range[2]));
    const body = bytes.slice(start, end + 1);
    sent += body.length;
    return new Response(body, { status: 206, headers: { "content-range": `bytes ${start}-${end}/${bytes.length}`, "content-length": String(body.length) } });
  }) as typeof fetch;
  return { fetch: f, sent: () => sent, requests: () => requests };
}

/**
 * A copy of a real GGUF with one F32 tensor appended after its tensor data (as convert_hf_to_gguf.py would have
 * listed it) and u32 keys changed in place: a Llama-3-style `rope_freqs.weight` on a model's unchanged weights.
 */
export async function appendF32Tensor(p: { source: string; out: string; name: string; values: readonly number[]; u32?: Record<string, number> }): Promise<void> {
  const source = await openLocalSource(p.source);
  const h = await readGgufHeader(source).finally(() => source.close());
  const file = readFileSync(p.source);
  const prefix = new Uint8Array(h.raw);
  const view = new DataView(prefix.buffer);
  view.setBigUint64(8, BigInt(h.tensorInfos.length + 1), true);
  for (const [key, value] of Object.entries(p.u32 ?? {})) {
    const kv = h.kvs.find((k) => k.key === key);
    if (!kv || kv.type !== GGUFValueType.UINT32) throw new Error(`${p.source}: no u32 key ${key}`);
    view.setUint32(kv.end - 4, value, true);
  }
  const dataLength = file.length - h.dataOffset;
  const name = new TextEncoder().encode(p.name);
  const info = new DataView(new ArrayBuffer(8 + name.length + 4 + 8 + 4 + 8));
  info.setBigUint64(0, BigInt(name.length), true);
  new Uint8Array(info.buffer).set(name, 8);
  info.setUint32(8 + name.length, 1, true);
  info.setBigUint64(12 + name.length, BigInt(p.values.length), true);
  info.setUint32(20 + name.length, 0, true);
  info.setBigUint64(24 + name.length, BigInt(pad(dataLength, h.alignment)), true);
  const headerLength = pad(prefix.length + info.byteLength, h.alignment);
  const out = new Uint8Array(headerLength + pad(dataLength, h.alignment) + 4 * p.values.length);
  out.set(prefix, 0);
  out.set(new Uint8Array(info.buffer), prefix.length);
  out.set(file.subarray(h.dataOffset), headerLength);
  const values = new DataView(out.buffer, headerLength + pad(dataLength, h.alignment));
  p.values.forEach((v, i) => values.setFloat32(4 * i, v, true));
  writeFileSync(p.out, out);
}

/** convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors): the llama3 divisors it stores as rope_freqs.weight. */
export function convertLlama3Factors(dim: number, base: number, factor: number, old: number, lowFreqFactor: number, highFreqFactor: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < dim / 2; j++) {
    const freq = Math.fround(1 / Math.fround(Math.fround(base) ** Math.fround(Math.fround(2 * j) / dim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < old / highFreqFactor) out.push(1);
    else if (wavelen > old / lowFreqFactor) out.push(factor);
    else {
      const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out.push(Math.fround(1 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}
