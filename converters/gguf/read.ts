// Reads and checks a GGUF header with @huggingface/gguf, from a local file or a URL. Everything the
// parser cannot judge (the first bytes, counts against the file size, the header and data fitting in
// the file) is checked here, so any bad input ends in one GgufError line.
import { gguf, GGUFValueType } from "@huggingface/gguf";
import type { GGUFParseOutput, GGUFTensorInfo, GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import { tensorBytes } from "./ggml-types.ts";
import { fetchHeaderBytes, GGUF_MAGIC } from "./header-extent.ts";
import type { HeaderBytes, KvSpan } from "./header-extent.ts";
import type { ByteSource, FetchLike } from "./byte-source.ts";

export const GGUF_DEFAULT_ALIGNMENT = 32;
// Smallest possible key/value (empty key, u8 value) and tensor info (empty name, no dims), GGUF v2+.
const MIN_KV_BYTES = 8n + 4n + 1n;
const MIN_TENSOR_INFO_BYTES = 8n + 4n + 4n + 8n;
const FIXED_HEADER_BYTES = 24n;
// The parser's own caps (@huggingface/gguf MAX_KV_COUNT, MAX_TENSOR_COUNT).
const PLAUSIBLE_KV_COUNT = 100_000n;
const PLAUSIBLE_TENSOR_COUNT = 10_000_000n;

export interface GgufHeader {
  file: string;
  version: 2 | 3;
  littleEndian: boolean;
  architecture: string;
  /** Typed metadata of every key except the arrays in `skippedKeys` (strings, large ones). */
  metadata: GGUFTypedMetadata;
  tensorInfos: GGUFTensorInfo[];
  /** [start, end) of the tensor infos, before the alignment padding. */
  tensorInfoByteRange: [number, number];
  alignment: number;
  /** Start of the tensor data (aligned). */
  dataOffset: number;
  /** File size, when known (always for local files; for URLs when the server reports it). */
  fileSize: number | undefined;
  /** Bytes of tensor data the tensor infos require after dataOffset. */
  dataBytesRequired: number;
  /** The header bytes [0, tensorInfoByteRange[1]) as read, so a rewrite needs no second read. */
  raw: Uint8Array;
  /** Every key/value's byte span in `raw`, in file order. */
  kvs: KvSpan[];
  /** Arrays (of strings, or large) present in the file but not decoded into `metadata`. */
  skippedKeys: string[];
  warnings: string[];
}

/** Checks the fixed 24-byte prefix against the file size before the parser walks the header. */
function checkPrefix(file: string, bytes: Uint8Array, fileSize: number | undefined): void {
  if (bytes.length < 4) throw new GgufError(file, "not-gguf", `not a GGUF file (only ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== GGUF_MAGIC) {
    throw new GgufError(file, "not-gguf", "not a GGUF file (the first 4 bytes are not the GGUF magic)");
  }
  if (bytes.length < 24) throw new GgufError(file, "truncated", `truncated header (the file has ${bytes.length} bytes)`);
  let version = view.getUint32(4, true);
  const littleEndian = (version & 0xffff) !== 0;
  if (!littleEndian) version = view.getUint32(4, false);
  if (version !== 2 && version !== 3) {
    throw new GgufError(file, "version", `unsupported GGUF version ${version} (llama.cpp reads versions 2 and 3)`);
  }
  const tensorCount = view.getBigUint64(8, littleEndian);
  const kvCount = view.getBigUint64(16, littleEndian);
  if (fileSize !== undefined) {
    const minimum = FIXED_HEADER_BYTES + kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES;
    if (minimum > BigInt(fileSize)) {
      // Counts a real model could have mean the file was cut short; others are corrupt.
      const plausible = kvCount <= PLAUSIBLE_KV_COUNT && tensorCount <= PLAUSIBLE_TENSOR_COUNT;
      throw new GgufError(
        file,
        plausible ? "truncated" : "limits",
        `the header declares ${kvCount} key/values and ${tensorCount} tensors, which cannot fit in ${fileSize} bytes` +
          (plausible ? ": truncated" : ""),
      );
    }
  }
}

/**
 * Numeric arrays up to this size are decoded (per-layer head counts, rope sections); larger ones, and every array of
 * strings (vocabularies, merges: the library decodes each string with a new TextDecoder), are skipped.
 */
const SMALL_ARRAY_BYTES = 64 * 1024;
const decoded = (kv: KvSpan) => kv.type !== GGUFValueType.ARRAY || (kv.elementType !== GGUFValueType.STRING && kv.end - kv.start <= SMALL_ARRAY_BYTES);

/** The header with only the `kept` key/values: fixed prefix (kv count adjusted), their bytes, tensor infos. */
function slimHeader(head: HeaderBytes, kept: readonly KvSpan[]): Uint8Array {
  const kvBytes = kept.reduce((n, kv) => n + kv.end - kv.start, 0);
  const out = new Uint8Array(24 + kvBytes + (head.infoEnd - head.infoStart));
  out.set(head.bytes.subarray(0, 24), 0);
  new DataView(out.buffer).setBigUint64(16, BigInt(kept.length), head.littleEndian);
  let at = 24;
  for (const kv of kept) {
    out.set(head.bytes.subarray(kv.start, kv.end), at);
    at += kv.end - kv.start;
  }
  out.set(head.bytes.subarray(head.infoStart, head.infoEnd), at);
  return out;
}

/**
 * The part of a Response that @huggingface/gguf reads (the Content-Range header, the body). Node builds its
 * Response and Headers classes on first use (about 30 ms), which a local patch does not otherwise need.
 */
const partialResponse = (body: Uint8Array, contentRange: string): Response =>
  ({
    status: 206,
    ok: true,
    headers: { get: (name: string) => (name.toLowerCase() === "content-range" ? contentRange : null) },
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength),
  }) as unknown as Response;

const describe = (err: unknown) => String((err as Error)?.message ?? err).split("\n")[0];

export interface ReadGgufHeaderOptions {
  /**
   * The file is shard 2 or later of a split model: llama.cpp's gguf-split gives those only the split.* keys, so
   * general.architecture is not required (`architecture` is then "").
   */
  continuation?: boolean;
}

/**
 * Parses a GGUF's header (metadata and tensor infos) from a byte source, reading only the header's bytes.
 *
 * @example
 * const source = await openSource("https://huggingface.co/org/m-GGUF/resolve/main/m.gguf");
 * const header = await readGgufHeader(source);
 * console.log(header.architecture, header.dataOffset);
 */
export async function readGgufHeader(source: ByteSource, opts: ReadGgufHeaderOptions = {}): Promise<GgufHeader> {
  const file = source.name;
  const head = await fetchHeaderBytes(source, (bytes, size) => checkPrefix(file, bytes, size));
  const fileSize = source.size();
  // A key given twice: the parser would keep one (which one differs between readers) and llama.cpp refuses the file;
  // a second context_length or general.architecture would make the patch edit the wrong entry.
  const seen = new Set<string>();
  for (const kv of head.kvs) {
    if (seen.has(kv.key)) throw new GgufError(file, "malformed", `key ${JSON.stringify(kv.key)} appears twice in the header (llama.cpp refuses duplicated keys)`);
    seen.add(kv.key);
  }
  // The parser gets a slim copy of the header: string and large arrays (the vocabulary, merges) are left
  // out, as decoding them costs up to seconds and nothing here reads them; the patch copies their bytes
  // unchanged.
  const kept = head.kvs.filter(decoded);
  const slim = slimHeader(head, kept);
  const served = (async (_input: unknown, init?: RequestInit) => {
    // The library sends its Range header in a plain object.
    const headers = Object.entries((init?.headers ?? {}) as Record<string, string>);
    const m = headers.find(([k]) => k.toLowerCase() === "range")?.[1].match(/bytes=(\d+)-(\d*)/);
    const start = Number(m?.[1] ?? 0);
    const body = slim.slice(Math.min(start, slim.length), m?.[2] ? Number(m[2]) + 1 : undefined);
    return partialResponse(body, `bytes ${start}-${start + body.length - 1}/${fileSize ?? "*"}`);
  }) as FetchLike;

  let parsed: GGUFParseOutput & { typedMetadata: GGUFTypedMetadata };
  try {
    parsed = await gguf("http://gguf.source.invalid/model.gguf", { fetch: served, typedMetadata: true });
  } catch (err) {
    if (err instanceof GgufError) throw err;
    const msg = describe(err);
    const type = msg.match(/Unsupported (?:metadata|array element) type:?\s*(\d+)/);
    if (type) throw new GgufError(file, "value-type", `unknown metadata value type ${type[1]}`);
    // A RangeError is the parser reading beyond the bytes it has: past the end of the file.
    if (err instanceof RangeError) {
      throw new GgufError(file, "truncated", `the header runs past the end of the file (${source.size()} bytes): truncated, or a length is corrupt`);
    }
    if (/exceeds maximum|exceeds the maximum|not a valid number/.test(msg)) throw new GgufError(file, "limits", msg);
    throw new GgufError(file, "malformed", `malformed GGUF header (${msg})`);
  }

  const meta = parsed.typedMetadata;
  const version = meta.version.value;
  if (version !== 2 && version !== 3) {
    throw new GgufError(file, "version", `unsupported GGUF version ${version} (llama.cpp reads versions 2 and 3)`);
  }
  const { infoStart, infoEnd } = head;
  // Untyped lookup: the library types this key as a known-architecture union, but any string is valid.
  const arch = (meta as Record<string, { value: MetadataValue; type: GGUFValueType } | undefined>)["general.architecture"];
  const named = arch !== undefined && arch.type === GGUFValueType.STRING && typeof arch.value === "string" && arch.value !== "";
  if (!named && !(opts.continuation && arch === undefined)) {
    throw new GgufError(file, "no-architecture", "no general.architecture key (llama.cpp cannot load it either)");
  }
  const alignEntry = meta["general.alignment"];
  const alignment = alignEntry === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(alignEntry.value);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufError(file, "malformed", `general.alignment is ${String(alignEntry?.value)}, not a power of two`);
  }
  const dataOffset = Math.ceil(infoEnd / alignment) * alignment;

  const warnings: string[] = [];
  let required = 0n;
  const unknownTypes = new Set<number>();
  for (const t of parsed.tensorInfos) {
    const bytes = tensorBytes(t.dtype, t.shape);
    if (bytes === undefined) {
      unknownTypes.add(t.dtype);
      continue;
    }
    const end = t.offset + bytes;
    if (end > required) required = end;
  }
  if (unknownTypes.size > 0) {
    warnings.push(`unknown ggml tensor type(s) ${[...unknownTypes].join(", ")}: their sizes were not checked`);
  }
  if (fileSize === undefined) {
    warnings.push("the server did not report the file size: the tensor data length was not checked");
  } else if (BigInt(dataOffset) + required > BigInt(fileSize)) {
    throw new GgufError(
      file,
      "data-short",
      `tensor data is shorter than the tensor infos claim (${fileSize - dataOffset} bytes after the header, ${required} needed): truncated download?`,
    );
  }
  return {
    file,
    raw: head.bytes.slice(0, infoEnd),
    kvs: head.kvs,
    skippedKeys: head.kvs.filter((kv) => !decoded(kv)).map((kv) => kv.key),
    version,
    littleEndian: parsed.littleEndian,
    architecture: named ? (arch.value as string) : "",
    metadata: meta,
    tensorInfos: parsed.tensorInfos,
    tensorInfoByteRange: [infoStart, infoEnd],
    alignment,
    dataOffset,
    fileSize,
    dataBytesRequired: Number(required),
    warnings,
  };
}
