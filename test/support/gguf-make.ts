// Builds GGUF files for tests and benchmarks: typed metadata, F32 tensors, any alignment; the data
// region is streamed so multi-GiB files cost no memory.
import { open } from "node:fs/promises";
import { GGUFValueType, serializeGgufMetadata } from "@huggingface/gguf";
import type { GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import { tensorBytes as ggmlTensorBytes } from "../../converters/gguf/ggml-types.ts";

export interface MakeTensor {
  name: string;
  shape: number[];
  /** ggml type (default F32); makeGguf fills any type with a byte pattern. */
  type?: number;
}

export interface MakeGgufParams {
  arch?: string;
  /** Extra metadata, typed; `general.architecture` is added from `arch` unless `noArch`. */
  kv?: Record<string, { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType }>;
  tensors: MakeTensor[];
  alignment?: number;
  noArch?: boolean;
}

const pad = (n: number, a: number) => Math.ceil(n / a) * a;

/** Header bytes (through the alignment padding) and the byte size of each tensor. */
export function ggufHeaderBytes(p: MakeGgufParams): { header: Uint8Array; tensorBytes: number[] } {
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
    const bytes = Number(ggmlTensorBytes(t.type ?? 0, t.shape.map(BigInt)));
    tensorBytes.push(bytes);
    offset += pad(bytes, alignment);
  }
  const header = new Uint8Array(pad(kvs.length + infos.length, alignment));
  header.set(kvs, 0);
  header.set(infos, kvs.length);
  return { header, tensorBytes };
}

/** A whole small GGUF in memory; tensor data is a deterministic byte pattern. */
export function makeGguf(p: MakeGgufParams): Uint8Array {
  const alignment = p.alignment ?? 32;
  const { header, tensorBytes } = ggufHeaderBytes(p);
  const dataLen = tensorBytes.reduce((a, b) => a + pad(b, alignment), 0);
  const out = new Uint8Array(header.length + dataLen);
  out.set(header, 0);
  for (let i = header.length; i < out.length; i++) out[i] = (i * 2654435761) >>> 24;
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
