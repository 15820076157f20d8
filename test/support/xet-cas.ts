// The content-addressed store behind the stand-in hub's xet transfer: the three CAS endpoints @huggingface/hub
// 2.17.5 uploads through (POST /v1/xorbs/default/{hash}, POST /v1/shards, GET /v1/chunks/default/{hash} for
// global dedup). Formats as the client writes and reads them (utils/createXorbs.ts, uploadShards.ts,
// shardParser.ts): a xorb is a run of [8-byte header][chunk bytes, raw, LZ4 or byte-grouped LZ4]; a shard holds
// file reconstructions (terms: xorb hash + chunk range) and xorb chunk lists. Everything is checked the way the
// hub would: xorb hashes from their chunk lists, file hashes, per-term verification hashes, the sha256 the LFS
// pointer will name, and the bytes reconstructed from the stored chunks. It records what each upload carried.
import { createHash, randomBytes } from "node:crypto";
import { createChunker, fileHash, finalize, hashToHex, hexToBytes, hmac, nextBlock, verificationHash, xorbHash } from "@huggingface/xetchunk-wasm";
import type { Chunk } from "@huggingface/xetchunk-wasm";
import { decodeLz4Frame } from "./lz4-frame.ts";

const MAGIC = new Uint8Array([...new TextEncoder().encode("HFRepoMetaData"), 0, 85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]);
const HEADER = 48;
const FOOTER = 200;
const ENTRY = 48; // every shard record is 48 bytes
const FLAG_VERIFICATION = 0x80000000;
const FLAG_METADATA_EXT = 0x40000000;
const CHUNK_HEADER = 8;
const TARGET_CHUNK = 64 * 1024;
const XORB_MAX_CHUNKS = 8 * 1024;
const XORB_MAX_BYTES = 64 * 1024 * 1024;

export class CasError extends Error {}

interface ChunkRef {
  hash: string;
  length: number;
}

interface XorbEntry {
  hash: string;
  chunks: ChunkRef[];
}

interface Term {
  xorb: string;
  start: number;
  end: number;
  length: number;
}

interface ShardFile {
  hash: string;
  terms: Term[];
  rangeHashes?: string[];
  sha256?: string;
}

export interface XetFile {
  hash: string;
  sha256: string;
  content: Uint8Array;
}

export interface XetUploadRecord {
  kind: "xorb" | "shard";
  /** Bytes of the request body as sent (compressed chunks for a xorb). */
  bytes: number;
  /** Xorbs only: chunk count and uncompressed bytes. */
  chunks?: number;
  unpackedBytes?: number;
}

const toChunks = (refs: ChunkRef[]): Chunk[] => refs.map((c) => ({ hash: hexToBytes(c.hash), length: c.length }));
const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export class XetCas {
  readonly uploads: XetUploadRecord[] = [];
  /** Uncompressed chunks of every xorb received or seeded. */
  private readonly xorbData = new Map<string, Uint8Array[]>();
  /** Xorbs a shard has registered (their chunk hashes known), by hash. */
  private readonly xorbs = new Map<string, XorbEntry>();
  /** chunk hash -> the xorbs registered with it: what a global-dedup query for that chunk answers. */
  private readonly dedup = new Map<string, XorbEntry[]>();
  private readonly hmacKey = new Uint8Array(randomBytes(32));

  /** Stores content as a xet client would have uploaded it (chunked, packed in xorbs, registered). */
  seed(content: Uint8Array): XetFile {
    const chunker = createChunker(TARGET_CHUNK);
    const found = [...nextBlock(chunker, content)];
    const last = finalize(chunker);
    if (last) found.push(last);
    const entries: XorbEntry[] = [];
    const terms: Term[] = [];
    let offset = 0;
    let current: { refs: ChunkRef[]; data: Uint8Array[]; bytes: number } = { refs: [], data: [], bytes: 0 };
    const close = (): void => {
      const hash = hashToHex(xorbHash(toChunks(current.refs)));
      this.xorbData.set(hash, current.data);
      entries.push({ hash, chunks: current.refs });
      terms.push({ xorb: hash, start: 0, end: current.refs.length, length: current.bytes });
      current = { refs: [], data: [], bytes: 0 };
    };
    for (const c of found) {
      if (current.refs.length === XORB_MAX_CHUNKS || current.bytes + c.length > XORB_MAX_BYTES) close();
      current.refs.push({ hash: hashToHex(c.hash), length: c.length });
      current.data.push(content.subarray(offset, offset + c.length));
      current.bytes += c.length;
      offset += c.length;
    }
    if (current.refs.length > 0) close();
    this.register(entries);
    return { hash: hashToHex(fileHash(found)), sha256: sha256Hex(content), content };
  }

  /** POST /v1/xorbs/default/{hash}: the chunks are decoded now; their hashes arrive with the shard. */
  putXorb(hash: string, body: Uint8Array): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const chunks: Uint8Array[] = [];
    let unpacked = 0;
    for (let at = 0; at < body.length; ) {
      if (at + CHUNK_HEADER > body.length) throw new CasError(`xorb ${hash}: truncated chunk header at ${at}`);
      const packed = view.getUint8(at + 1) | (view.getUint8(at + 2) << 8) | (view.getUint8(at + 3) << 16);
      const scheme = view.getUint8(at + 4);
      const size = view.getUint8(at + 5) | (view.getUint8(at + 6) << 8) | (view.getUint8(at + 7) << 16);
      const data = body.subarray(at + CHUNK_HEADER, at + CHUNK_HEADER + packed);
      if (data.length !== packed) throw new CasError(`xorb ${hash}: truncated chunk at ${at}`);
      chunks.push(decodeChunk(data, scheme, size));
      unpacked += size;
      at += CHUNK_HEADER + packed;
    }
    this.xorbData.set(hash, chunks);
    this.uploads.push({ kind: "xorb", bytes: body.length, chunks: chunks.length, unpackedBytes: unpacked });
  }

  /** POST /v1/shards: registers the shard's xorbs, then rebuilds and checks each file it describes. */
  putShard(body: Uint8Array): XetFile[] {
    const shard = parseShard(body);
    this.uploads.push({ kind: "shard", bytes: body.length });
    for (const x of shard.xorbs) {
      const data = this.xorbData.get(x.hash);
      if (!data) throw new CasError(`shard names xorb ${x.hash}, never uploaded`);
      if (data.length !== x.chunks.length || x.chunks.some((c, i) => c.length !== data[i].length)) {
        throw new CasError(`xorb ${x.hash}: chunk list does not match the uploaded chunks`);
      }
      if (hashToHex(xorbHash(toChunks(x.chunks))) !== x.hash) throw new CasError(`xorb ${x.hash}: hash does not match its chunks`);
    }
    this.register(shard.xorbs);
    return shard.files.map((f) => this.rebuild(f));
  }

  /** GET /v1/chunks/default/{hash}: a shard of the xorbs holding that chunk, chunk hashes keyed like the hub's. */
  dedupShard(chunkHash: string): Uint8Array | undefined {
    const group = this.dedup.get(chunkHash);
    return group && buildShard(group.map((x) => ({ hash: x.hash, chunks: x.chunks.map((c) => ({ hash: hashToHex(hmac(hexToBytes(c.hash), this.hmacKey)), length: c.length })) })), this.hmacKey);
  }

  private register(entries: XorbEntry[]): void {
    for (const x of entries) {
      this.xorbs.set(x.hash, x);
      for (const c of x.chunks) this.dedup.set(c.hash, entries);
    }
  }

  private rebuild(f: ShardFile): XetFile {
    const parts: Uint8Array[] = [];
    const refs: ChunkRef[] = [];
    f.terms.forEach((t, i) => {
      const x = this.xorbs.get(t.xorb);
      const data = this.xorbData.get(t.xorb);
      if (!x || !data) throw new CasError(`file ${f.hash}: term ${i} names unknown xorb ${t.xorb}`);
      if (t.start >= t.end || t.end > x.chunks.length) throw new CasError(`file ${f.hash}: term ${i} range ${t.start}..${t.end} outside xorb`);
      const slice = x.chunks.slice(t.start, t.end);
      if (slice.reduce((n, c) => n + c.length, 0) !== t.length) throw new CasError(`file ${f.hash}: term ${i} length ${t.length} wrong`);
      if (f.rangeHashes && hashToHex(verificationHash(slice.map((c) => hexToBytes(c.hash)))) !== f.rangeHashes[i]) {
        throw new CasError(`file ${f.hash}: term ${i} verification hash wrong`);
      }
      refs.push(...slice);
      parts.push(...data.slice(t.start, t.end));
    });
    if (hashToHex(fileHash(toChunks(refs))) !== f.hash) throw new CasError(`file ${f.hash}: hash does not match its chunks`);
    const content = new Uint8Array(Buffer.concat(parts));
    const sha256 = sha256Hex(content);
    if (f.sha256 !== undefined && f.sha256 !== sha256) throw new CasError(`file ${f.hash}: rebuilt content has sha256 ${sha256}, shard says ${f.sha256}`);
    return { hash: f.hash, sha256, content };
  }
}

function decodeChunk(data: Uint8Array, scheme: number, size: number): Uint8Array {
  if (scheme === 0) {
    if (data.length !== size) throw new CasError(`raw chunk of ${data.length} bytes declares ${size}`);
    return data.slice();
  }
  if (scheme === 1) return decodeLz4Frame(data, size);
  if (scheme === 2) return bg4Regroup(decodeLz4Frame(data, size));
  throw new CasError(`unknown chunk compression scheme ${scheme}`);
}

/** Undoes byte grouping: the client stored bytes 0,4,8… first, then 1,5,9…, then 2,6,…, then 3,7,…. */
function bg4Regroup(g: Uint8Array): Uint8Array {
  const out = new Uint8Array(g.length);
  const split = Math.floor(g.length / 4);
  const rem = g.length % 4;
  let from = 0;
  for (let lane = 0; lane < 4; lane++) {
    const n = split + (lane < rem ? 1 : 0);
    for (let j = 0; j < n; j++) out[lane + 4 * j] = g[from + j];
    from += n;
  }
  return out;
}

function parseShard(b: Uint8Array): { files: ShardFile[]; xorbs: XorbEntry[] } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (at: number, n: number, what: string): void => {
    if (at < 0 || at + n > b.length) throw new CasError(`shard: ${what} past the end (${at}+${n} of ${b.length})`);
  };
  need(0, HEADER + FOOTER, "header and footer");
  if (!MAGIC.every((x, i) => b[i] === x)) throw new CasError("shard: bad magic");
  if (v.getBigUint64(32, true) !== 2n || v.getBigUint64(40, true) !== BigInt(FOOTER)) throw new CasError("shard: unsupported header");
  const footer = b.length - FOOTER;
  if (v.getBigUint64(footer, true) !== 1n) throw new CasError("shard: unsupported footer version");
  const hash = (at: number): string => hashToHex(b.subarray(at, at + 32));
  const bookend = (at: number): boolean => b.subarray(at, at + 32).every((x) => x === 0xff);
  const files: ShardFile[] = [];
  let at = Number(v.getBigUint64(footer + 8, true));
  for (;;) {
    need(at, ENTRY, "file entry");
    if (bookend(at)) break;
    const flags = v.getUint32(at + 32, true);
    const n = v.getUint32(at + 36, true);
    const f: ShardFile = { hash: hash(at), terms: [] };
    at += ENTRY;
    need(at, n * ENTRY, "file terms");
    for (let i = 0; i < n; i++, at += ENTRY) {
      f.terms.push({ xorb: hash(at), length: v.getUint32(at + 36, true), start: v.getUint32(at + 40, true), end: v.getUint32(at + 44, true) });
    }
    if (flags & FLAG_VERIFICATION) {
      need(at, n * ENTRY, "verification entries");
      f.rangeHashes = [];
      for (let i = 0; i < n; i++, at += ENTRY) f.rangeHashes.push(hash(at));
    }
    if (flags & FLAG_METADATA_EXT) {
      need(at, ENTRY, "metadata");
      f.sha256 = hash(at);
      at += ENTRY;
    }
    files.push(f);
  }
  const xorbs: XorbEntry[] = [];
  at = Number(v.getBigUint64(footer + 16, true));
  for (;;) {
    need(at, ENTRY, "xorb entry");
    if (bookend(at)) break;
    const n = v.getUint32(at + 36, true);
    const x: XorbEntry = { hash: hash(at), chunks: [] };
    at += ENTRY;
    need(at, n * ENTRY, "xorb chunks");
    for (let i = 0; i < n; i++, at += ENTRY) x.chunks.push({ hash: hash(at), length: v.getUint32(at + 36, true) });
    xorbs.push(x);
  }
  return { files, xorbs };
}

/** A shard with no files, as the hub answers a dedup query: the client reads the xorb section up to the
 * file-lookup offset and the HMAC key from the footer. */
function buildShard(xorbs: XorbEntry[], key: Uint8Array): Uint8Array {
  const records = xorbs.reduce((n, x) => n + 1 + x.chunks.length, 0);
  const b = new Uint8Array(HEADER + ENTRY + records * ENTRY + ENTRY + FOOTER);
  const v = new DataView(b.buffer);
  b.set(MAGIC, 0);
  v.setBigUint64(32, 2n, true);
  v.setBigUint64(40, BigInt(FOOTER), true);
  let at = HEADER;
  b.fill(0xff, at, at + 32); // empty file section
  at += ENTRY;
  const xorbAt = at;
  for (const x of xorbs) {
    b.set(hexToBytes(x.hash), at);
    v.setUint32(at + 36, x.chunks.length, true);
    const unpacked = x.chunks.reduce((n, c) => n + c.length, 0);
    v.setUint32(at + 40, unpacked, true);
    at += ENTRY;
    let offset = 0;
    for (const c of x.chunks) {
      b.set(hexToBytes(c.hash), at);
      v.setUint32(at + 32, offset, true);
      v.setUint32(at + 36, c.length, true);
      offset += c.length;
      at += ENTRY;
    }
  }
  b.fill(0xff, at, at + 32);
  at += ENTRY;
  const footer = at;
  v.setBigUint64(footer, 1n, true);
  v.setBigUint64(footer + 8, BigInt(HEADER), true);
  v.setBigUint64(footer + 16, BigInt(xorbAt), true);
  v.setBigUint64(footer + 24, BigInt(footer), true); // file lookup table (empty) starts after the xorb section
  b.set(key, footer + 72);
  v.setBigUint64(footer + 104, BigInt(Math.floor(Date.now() / 1000)), true);
  v.setBigUint64(footer + 192, BigInt(footer), true);
  return b;
}
