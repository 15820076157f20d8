// `yarnify patch` for GGUF: rebuild the header of (shard 1 of) a model with the plan's keys, stream
// the tensor data unchanged into a temporary file, verify it, then rename it into place. The other
// shards of a split model are reflinked, hard-linked or copied unchanged.
import { drain } from "../../src/core/drain.ts";
import { createHash } from "node:crypto";
import { mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { linkClone } from "../../src/core/io/model-dir.ts";
import { tempSibling, trackTemp, untrackTemp } from "../../src/core/io/temp-paths.ts";
import type { Plan } from "../../src/core/types.ts";
import { copyRange, LOCAL_LANES } from "./copy.ts";
import { GgufError } from "./errors.ts";
import { withEvents } from "./events.ts";
import type { PatchGgufEvent } from "./events.ts";
import { buildPatchedHeader } from "./header.ts";
import { ggufKeysForPlan, UnsupportedPlanError } from "./keys.ts";
import type { GgufEntry, GgufPlanKeys } from "./keys.ts";
import { readGgufHeader } from "./read.ts";
import type { GgufHeader } from "./read.ts";
import { openSource } from "./source.ts";
import type { ByteSource, FetchLike } from "./source.ts";
import { shardLocations, shardOutputs } from "./split.ts";
import { checkDataHash, checkWrittenHeader } from "./verify.ts";

export interface PatchGgufParams {
  /** A local path or an http(s) URL; for a split model, any shard (all are written). */
  source: string;
  /** The header of one of the files, as read before (the converter's read()): that file is not parsed again. */
  header?: GgufHeader;
  plan: Plan;
  /** Output file, or a folder (existing, or ending in "/") that receives files of the same names. */
  out: string;
  /** Re-parse the output and compare its tensor data with the source (default true). */
  verify?: boolean;
  /** Replace existing output files (default false). */
  overwrite?: boolean;
  fetch?: FetchLike;
  headers?: Record<string, string>;
  abortSignal?: AbortSignal;
  /** Bytes of each copy buffer (default: 2 MiB chunks in lanes from a local source, 16 MiB from a remote one). */
  bufferBytes?: number;
  /**
   * Chunks copied at once from a local source (default LOCAL_LANES, by core count); on Node each needs a thread of
   * libuv's pool (UV_THREADPOOL_SIZE).
   */
  lanes?: number;
}

export interface PatchedFile {
  source: string;
  out: string;
  /** How the file was produced: a rebuilt header, or the shard carried over unchanged. */
  action: "patched" | "reflinked" | "hardlinked" | "copied";
  bytes: number;
  verified: boolean;
}

export interface PatchGgufResult {
  architecture: string;
  /** The keys written into shard 1. */
  keys: GgufEntry[];
  files: PatchedFile[];
  headerBytes: { before: number; after: number };
  /** Bytes read from the source(s) by this call (a header passed in was read before): for a remote model, what was downloaded. */
  bytesFetched: number;
  warnings: string[];
}


/** Whether `out` names a folder (existing, or written with a trailing slash). */
export async function isDirTarget(out: string): Promise<boolean> {
  if (out.endsWith("/")) return true;
  try {
    return (await stat(out)).isDirectory();
  } catch {
    return false;
  }
}

async function refuseExisting(path: string, sources: readonly string[], overwrite: boolean): Promise<void> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return; // does not exist
  }
  for (const s of sources) {
    const same = await realpath(s).then((r) => r === real, () => false);
    if (same) throw new GgufError(path, "output", "the output is the source file; the source is never modified");
  }
  if (!overwrite) throw new GgufError(path, "output", "already exists; --overwrite (overwrite: true) replaces it");
}

/**
 * Async generator form: yields progress events, returns the result.
 *
 * @example
 * const it = patchGgufIter({ source: "m.gguf", plan: p, out: "m-yarn.gguf" });
 * for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.event === "phase") console.log(r.value.phase);
 */
export function patchGgufIter(params: PatchGgufParams): AsyncGenerator<PatchGgufEvent, PatchGgufResult> {
  return withEvents((emit) => runPatch(params, emit));
}

/**
 * Patches a GGUF and returns what was written.
 *
 * @example
 * const header = await readGgufHeader(await openLocalSource("m.gguf"));
 * const p = plan(ggufRopeSpec(header.metadata, header.architecture), { factor: 4 });
 * const r = await patchGguf({ source: "m.gguf", plan: p, out: "m-yarn.gguf" });
 * console.log(r.files.map((f) => `${f.out} ${f.action}`));
 */
export async function patchGguf(params: PatchGgufParams): Promise<PatchGgufResult> {
  return drain(patchGgufIter(params));
}

async function runPatch(params: PatchGgufParams, emit: (e: PatchGgufEvent) => void): Promise<PatchGgufResult> {
  const verify = params.verify ?? true;
  const signal = params.abortSignal;
  const bufferBytes = params.bufferBytes;
  const lanes = params.lanes ?? LOCAL_LANES;
  if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`patchGguf: lanes must be a positive integer, got ${lanes}`);
  const remoteOpts = { ...(params.fetch ? { fetch: params.fetch } : {}), ...(params.headers ? { headers: params.headers } : {}) };
  const sources = shardLocations(params.source);
  const outs = shardOutputs(sources, params.out, await isDirTarget(params.out));
  if (!outs) {
    throw new GgufError(params.out, "split", `a split model of ${sources.length} shards needs an output folder or a name like x-00001-of-${String(sources.length).padStart(5, "0")}.gguf`);
  }
  const localSources = sources.filter((s) => !/^https?:/i.test(s));
  for (const o of outs) await refuseExisting(o, localSources, params.overwrite ?? false);
  await mkdir(dirname(outs[0]), { recursive: true });

  // Read and check every shard header before writing anything.
  const opened: Array<{ source: ByteSource; header: GgufHeader }> = [];
  try {
    for (const s of sources) {
      emit({ event: "phase", phase: "read", file: s });
      const source = await openSource(s, remoteOpts);
      try {
        // A header read before is used while the file still has the size it had then.
        const known = params.header?.file === s ? params.header : undefined;
        const unchanged = known && (source.size() === undefined || source.size() === known.fileSize);
        opened.push({ source, header: unchanged ? known : await readGgufHeader(source) });
      } catch (err) {
        await source.close();
        throw err;
      }
    }
    const first = opened[0].header;
    checkSplit(first, sources.length);
    const planned = plannedKeys(first, params.plan);
    const header = buildPatchedHeader(first, planned.entries);
    const files: PatchedFile[] = [];
    files.push(await writeFile({ ...opened[0], outPath: outs[0], newHeader: header, copyStart: opened[0].header.dataOffset, entries: planned.entries, verify, signal, bufferBytes, lanes, emit }));
    for (let i = 1; i < opened.length; i++) {
      files.push(await carryShard({ ...opened[i], outPath: outs[i], verify, signal, bufferBytes, lanes, emit }));
    }
    return {
      architecture: first.architecture,
      keys: planned.entries,
      files,
      headerBytes: { before: first.dataOffset, after: header.length },
      bytesFetched: opened.reduce((sum, o) => sum + o.source.bytesFetched(), 0),
      warnings: [...new Set([...opened.flatMap((o) => o.header.warnings), ...planned.warnings])],
    };
  } finally {
    await Promise.all(opened.map((o) => o.source.close()));
  }
}

/** The plan's keys for this header; a plan llama.cpp cannot express is a GgufError naming the file. */
export function plannedKeys(header: GgufHeader, plan: Plan): GgufPlanKeys {
  try {
    return ggufKeysForPlan(header.architecture, plan, header.metadata);
  } catch (err) {
    if (err instanceof UnsupportedPlanError) throw new GgufError(header.file, "unsupported", err.message);
    throw err;
  }
}

function checkSplit(first: GgufHeader, shards: number): void {
  const count = first.metadata["split.count"];
  const declared = count === undefined ? 1 : Number(count.value);
  if (declared !== shards) {
    throw new GgufError(first.file, "split", `split.count is ${declared} but the file name says ${shards} shard(s)`);
  }
}

/** The source's size: as known now, else as its header saw it (a remote source opened again), else what the tensors need. */
const sizeOf = (source: ByteSource, header: GgufHeader) => source.size() ?? header.fileSize ?? header.dataOffset + header.dataBytesRequired;

interface WriteParams {
  source: ByteSource;
  header: GgufHeader;
  outPath: string;
  verify: boolean;
  signal: AbortSignal | undefined;
  bufferBytes: number | undefined;
  lanes: number;
  emit: (e: PatchGgufEvent) => void;
}

/**
 * Writes `newHeader`, then the source from `copyStart` to its end, to a temp file; verifies it
 * against the source (metadata, tensor infos, tensor data); renames it into place.
 */
async function writeFile(p: WriteParams & { newHeader: Uint8Array; copyStart: number; entries: GgufEntry[] }): Promise<PatchedFile> {
  const { header, source } = p;
  const size = sizeOf(source, header);
  const copyLength = size - p.copyStart;
  const dataLength = size - header.dataOffset;
  const total = p.newHeader.length + copyLength;
  const tmp = tempSibling(p.outPath);
  trackTemp(tmp);
  p.emit({ event: "phase", phase: "write", file: p.outPath });
  // A remote source is hashed as it streams in (verification must not download it twice) and the output hashed
  // afterwards; a local one is copied in lanes that read each chunk back and compare it as they go.
  const hash = source.remote && p.verify ? createHash("sha256") : undefined;
  const readBack = p.verify && !source.remote;
  let at = p.copyStart;
  const hashData = (c: Uint8Array) => {
    const from = Math.max(0, header.dataOffset - at);
    if (from < c.length) hash!.update(c.subarray(from));
    at += c.length;
  };
  const outDataOffset = p.newHeader.length + header.dataOffset - p.copyStart;
  // Verification parses the header written while the tensor data is being copied (the main thread waits on the
  // copy otherwise); settled before the temporary file is renamed or removed.
  let headerCheck: Promise<void> | undefined;
  const checkHeader = () => {
    headerCheck = checkWrittenHeader({ file: p.outPath, path: tmp, size: total, source: header, entries: p.entries, dataOffset: outDataOffset, dataLength });
    headerCheck.catch(() => {}); // awaited below
  };
  try {
    const out = await open(tmp, readBack ? "wx+" : "wx");
    try {
      await out.write(p.newHeader, 0, p.newHeader.length, 0);
      // A rebuilt header is complete once written; a file copied whole has its header only after the copy.
      if (p.verify && p.newHeader.length > 0) checkHeader();
      await copyRange({
        openReader: (from, to) => source.openRange(p.copyStart + from, p.copyStart + to, p.signal),
        out,
        outOffset: p.newHeader.length,
        length: copyLength,
        bufferBytes: p.bufferBytes,
        // A remote source streams in order (and is hashed on the way); a local one is read by several lanes.
        lanes: source.remote ? 1 : p.lanes,
        ...(p.signal ? { signal: p.signal } : {}),
        ...(hash ? { onChunk: hashData } : {}),
        ...(readBack && {
          readBack: (at: number, n: number) =>
            new GgufError(p.outPath, "verify", `verification failed: tensor data differs from the source within bytes ${at}..${at + n}`),
        }),
        onProgress: (n) => p.emit({ event: "progress", phase: "write", file: p.outPath, bytes: p.newHeader.length + n, total }),
        onShort: (n) => new GgufError(source.name, "data-short", `the file ended after ${p.copyStart + n} of ${size} bytes`),
      });
    } finally {
      await out.close();
    }
    if (p.verify) {
      p.emit({ event: "phase", phase: "verify", file: p.outPath });
      if (!headerCheck) checkHeader();
      await headerCheck;
      const written = (await stat(tmp)).size;
      if (written !== total) throw new GgufError(p.outPath, "verify", `verification failed: ${written} bytes written, expected ${total}`);
      // A remote source's tensor data must hash to what was streamed (a local one was compared chunk by chunk
      // while copying).
      if (hash) {
        await checkDataHash({
          file: p.outPath,
          path: tmp,
          dataOffset: outDataOffset,
          sha256: hash.digest("hex"),
          length: dataLength,
          bufferBytes: p.bufferBytes,
          ...(p.signal ? { signal: p.signal } : {}),
          onProgress: (n) => p.emit({ event: "progress", phase: "verify", file: p.outPath, bytes: n, total: dataLength }),
        });
      }
    }
    await rename(tmp, p.outPath);
  } catch (err) {
    await headerCheck?.catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  } finally {
    untrackTemp(tmp);
  }
  return { source: source.name, out: p.outPath, action: "patched", bytes: total, verified: p.verify };
}

/** Places an unchanged shard: reflink, else hard link, else a streamed (and verified) copy. */
async function carryShard(p: WriteParams): Promise<PatchedFile> {
  const { source, header } = p;
  const tmp = tempSibling(p.outPath);
  const size = sizeOf(source, header);
  if (!source.remote) {
    p.emit({ event: "phase", phase: "link", file: p.outPath });
    try {
      const linked = linkClone(source.name, tmp);
      if (linked) {
        await rename(tmp, p.outPath);
        return { source: source.name, out: p.outPath, action: linked === "reflink" ? "reflinked" : "hardlinked", bytes: size, verified: false };
      }
    } catch {
      await unlink(tmp).catch(() => {});
    }
  }
  const copied = await writeFile({ ...p, newHeader: new Uint8Array(0), copyStart: 0, entries: [] });
  return { ...copied, action: "copied" };
}
