// `yarnify patch` for GGUF: rebuild the header of (shard 1 of) a model with the plan's keys, stream
// the tensor data unchanged into a temporary file, verify it, then rename it into place. The other
// shards of a split model are reflinked, hard-linked or copied unchanged.
import { drain } from "../../src/core/drain.ts";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { linkClone } from "../../src/core/io/model-dir.ts";
import { claimOutput, type OutputClaim } from "../../src/core/io/output-claim.ts";
import { tempSibling, trackTemp, untrackTemp, withoutTrailingSlash } from "../../src/core/io/temp-paths.ts";
import { writeFailure } from "../../src/core/io/write-failure.ts";
import type { Plan } from "../../src/core/types.ts";
import { copyRange, LOCAL_LANES } from "./copy.ts";
import { GgufError } from "./errors.ts";
import { withEvents } from "./events.ts";
import type { PatchGgufEvent } from "./events.ts";
import { buildPatchedHeader } from "./header.ts";
import { type FreqTensor, readFreqTensors, tensorValueBytes } from "./freq-tensors.ts";
import type { GgufEntry } from "./keys.ts";
import { plannedEdits } from "./edits.ts";
import { readGgufHeader } from "./read.ts";
import type { GgufHeader } from "./read.ts";
import { isUrl, openSource } from "./source.ts";
import type { ByteSource, FetchLike } from "./byte-source.ts";
import { shardLocations, shardOutputs } from "./split.ts";
import { checkDataHash, checkFreqTensors, checkWrittenHeader } from "./verify.ts";

export interface PatchGgufParams {
  /** A local path or an http(s) URL; for a split model, any shard (all are written). */
  source: string;
  /** The header of one of the files, as read before (the converter's read()): that file is not parsed again. */
  header?: GgufHeader;
  /** Shard 1's frequency tensors as read with `header` (read again when absent). */
  freqTensors?: FreqTensor[];
  plan: Plan;
  /**
   * Output file, or a folder (existing, or ending in "/") that receives files of the same names; its parent must
   * exist. A folder that does not exist yet appears whole, once every file in it is written.
   */
  out: string;
  /** Re-parse the output and compare its tensor data with the source (default true). */
  verify?: boolean;
  /** Replace existing output files (default false). */
  overwrite?: boolean;
  fetch?: FetchLike;
  headers?: Record<string, string>;
  /** A remote source: milliseconds without progress before a request is retried, then given up (default 30 s). */
  timeoutMs?: number;
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
  /** Frequency tensors rewritten in place (their new values), the rest of the data unchanged. */
  tensors: FreqTensor[];
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
  const remoteOpts = {
    ...(params.fetch ? { fetch: params.fetch } : {}),
    ...(params.headers ? { headers: params.headers } : {}),
    ...(params.timeoutMs !== undefined ? { timeoutMs: params.timeoutMs } : {}),
  };
  const sources = shardLocations(params.source);
  const dirTarget = await isDirTarget(params.out);
  const outs = shardOutputs(sources, params.out, dirTarget);
  if (!outs) {
    throw new GgufError(params.out, "split", `a split model of ${sources.length} shards needs an output folder or a name like x-00001-of-${String(sources.length).padStart(5, "0")}.gguf`);
  }
  const localSources = sources.filter((s) => !isUrl(s));
  // A folder that does not exist yet is built under a temporary name and renamed into place whole; otherwise each
  // file gets a temporary sibling, and all are renamed into place once every one is written and verified.
  const newDir = dirTarget && !existsSync(params.out) ? withoutTrailingSlash(params.out) : undefined;
  const claims = claimAll(newDir ? [newDir] : outs, localSources, params.overwrite ?? false);
  const stage = newDir && tempSibling(newDir);
  const temps = outs.map((o) => (stage ? join(stage, basename(o)) : tempSibling(o)));
  const tracked = stage ? [stage] : temps;
  for (const t of tracked) trackTemp(t);
  const placed: string[] = [];

  // Read and check every shard header before writing anything.
  const opened: Array<{ source: ByteSource; header: GgufHeader }> = [];
  try {
    for (const [i, s] of sources.entries()) {
      emit({ event: "phase", phase: "read", file: s });
      const source = await openSource(s, remoteOpts);
      try {
        // A header read before is used while the file still has the size it had then.
        const known = params.header?.file === s ? params.header : undefined;
        const unchanged = known && (source.size() === undefined || source.size() === known.fileSize);
        opened.push({ source, header: unchanged ? known : await readGgufHeader(source, { continuation: i > 0 }) });
      } catch (err) {
        await source.close();
        throw err;
      }
    }
    const first = opened[0].header;
    checkSplit(first, sources.length);
    const tensors = params.freqTensors && first === params.header ? params.freqTensors : await readFreqTensors(opened[0].source, first);
    const planned = plannedEdits(first, tensors, params.plan);
    const header = buildPatchedHeader(first, planned.entries);
    if (stage) {
      try {
        await mkdir(stage);
      } catch (err) {
        throw writeFailure(newDir!, err);
      }
    }
    const files: PatchedFile[] = [];
    files.push(await writeFile({ ...opened[0], outPath: outs[0], tmpPath: temps[0], newHeader: header, copyStart: first.dataOffset, entries: planned.entries, tensors: planned.tensors, verify, signal, bufferBytes, lanes, emit }));
    for (let i = 1; i < opened.length; i++) {
      files.push(await carryShard({ ...opened[i], outPath: outs[i], tmpPath: temps[i], verify, signal, bufferBytes, lanes, emit }));
    }
    signal?.throwIfAborted();
    if (stage) await rename(stage, newDir!);
    else {
      for (let i = 0; i < outs.length; i++) {
        await rename(temps[i], outs[i]);
        placed.push(outs[i]);
      }
    }
    return {
      architecture: first.architecture,
      keys: planned.entries,
      tensors: planned.tensors,
      files,
      headerBytes: { before: first.dataOffset, after: header.length },
      bytesFetched: opened.reduce((sum, o) => sum + o.source.bytesFetched(), 0),
      warnings: [...new Set([...opened.flatMap((o) => o.header.warnings), ...planned.warnings])],
    };
  } catch (err) {
    // Nothing of a failed run stays: its temporaries, and the files of a split model it had already renamed.
    await Promise.all([...tracked, ...placed].map((t) => rm(t, { recursive: true, force: true })));
    throw err;
  } finally {
    await Promise.all(opened.map((o) => o.source.close()));
    for (const t of tracked) untrackTemp(t);
    for (const c of claims) c.release();
  }
}

/** Claims every output name, or none: a refusal gives back the ones already taken. */
function claimAll(outs: readonly string[], sources: readonly string[], overwrite: boolean): OutputClaim[] {
  const claims: OutputClaim[] = [];
  try {
    for (const out of outs) claims.push(claimOutput({ out, sources, overwrite }));
    return claims;
  } catch (err) {
    for (const c of claims) c.release();
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
  /** The output's name (for messages) and the temporary file written instead, renamed into place by the caller. */
  outPath: string;
  tmpPath: string;
  verify: boolean;
  signal: AbortSignal | undefined;
  bufferBytes: number | undefined;
  lanes: number;
  emit: (e: PatchGgufEvent) => void;
}

/**
 * Writes `newHeader`, then the source from `copyStart` to its end, to the temporary file; verifies it against the
 * source (metadata, tensor infos, tensor data).
 */
async function writeFile(p: WriteParams & { newHeader: Uint8Array; copyStart: number; entries: GgufEntry[]; tensors: FreqTensor[] }): Promise<PatchedFile> {
  const { header, source } = p;
  const size = sizeOf(source, header);
  const copyLength = size - p.copyStart;
  const dataLength = size - header.dataOffset;
  const total = p.newHeader.length + copyLength;
  const tmp = p.tmpPath;
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
        edits: p.tensors.map((t) => ({ at: t.offset - p.copyStart, bytes: tensorValueBytes(t, header.littleEndian) })),
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
      if (p.tensors.length) await checkFreqTensors({ file: p.outPath, path: tmp, size: total, expected: p.tensors });
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
  } catch (err) {
    await headerCheck?.catch(() => {});
    throw writeFailure(p.outPath, err);
  }
  return { source: source.name, out: p.outPath, action: "patched", bytes: total, verified: p.verify };
}

/** Places an unchanged shard: reflink, else hard link, else a streamed (and verified) copy. */
async function carryShard(p: WriteParams): Promise<PatchedFile> {
  const { source, header, tmpPath: tmp } = p;
  const size = sizeOf(source, header);
  if (!source.remote) {
    p.emit({ event: "phase", phase: "link", file: p.outPath });
    try {
      const linked = linkClone(source.name, tmp);
      if (linked) return { source: source.name, out: p.outPath, action: linked === "reflink" ? "reflinked" : "hardlinked", bytes: size, verified: false };
    } catch {
      await rm(tmp, { force: true });
    }
  }
  const copied = await writeFile({ ...p, newHeader: new Uint8Array(0), copyStart: 0, entries: [], tensors: [] });
  return { ...copied, action: "copied" };
}
