import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { GgufError, ggufConverter, ggufRopeSpec, inspectGguf, llamaCppRopeParams, patchGguf, patchGgufIter, progressText, readGgufHeader } from "../converters/gguf/index.ts";
import type { PatchGgufEvent } from "../converters/gguf/index.ts";
import { openLocalSource, openRemoteSource } from "../converters/gguf/source.ts";
import { checkDataHash, checkWrittenHeader } from "../converters/gguf/verify.ts";
import { copyRange } from "../converters/gguf/copy.ts";
import { OutputError } from "../src/core/errors.ts";
import { plan } from "../src/core/plan.ts";
import { llamacppView } from "../src/core/rope/engines/llamacpp.ts";
import { bytesFetch, ggufHeaderBytes, makeGguf, modelKv } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { assertCarried } from "./support/carried.ts";
import { sharedPath } from "./support/shared.ts";

const TINY = sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf");
const tmp = () => mkdtempSync(join(tmpdir(), "yarnify-gguf-"));
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const F32 = GGUFValueType.FLOAT32;
const U32 = GGUFValueType.UINT32;

/** The tensor data region (from the header's data offset to the end) of a GGUF file. */
async function dataRegion(path: string): Promise<Buffer> {
  const src = await openLocalSource(path);
  try {
    const h = await readGgufHeader(src);
    return readFileSync(path).subarray(h.dataOffset);
  } finally {
    await src.close();
  }
}

const small = (kv: Parameters<typeof makeGguf>[0]["kv"] = {}, extra: Partial<Parameters<typeof makeGguf>[0]> = {}) =>
  makeGguf({
    arch: "llama",
    kv: { ...modelKv("llama", { context: 4096, embedding: 256, heads: 4, theta: 500000 }), ...kv },
    tensors: [
      { name: "a", shape: [64, 3] },
      { name: "b", shape: [7] },
    ],
    ...extra,
  });

test("inspect reads the tiny model's RoPE setup and llama.cpp's view of it", async () => {
  const i = await inspectGguf(TINY);
  assert.equal(i.format, "gguf");
  assert.equal(i.architecture, "llama");
  assert.deepEqual(i.spec, { theta: 10000, headDim: 64, rotaryDim: 64, context: 256, originalContext: 256, scaling: { method: "none" } });
  assert.deepEqual(i.keys["llama.context_length"], { value: 256, type: "u32" });
  assert.deepEqual(i.keys["llama.rope.freq_base"], { value: 10000, type: "f32" });
  assert.equal(i.llamacpp.freqScale, 1);
  assert.equal(i.llamacpp.nCtxOrigYarn, 256);
  assert.equal(i.headerBytes % 32, 0);
  assert.equal(i.tensorCount, 57);
});

test("patch --factor 4: YaRN keys with llama.cpp's types, tensor data byte-identical, source untouched", async () => {
  const dir = tmp();
  try {
    const before = sha(TINY);
    const spec = (await inspectGguf(TINY)).spec;
    const out = join(dir, "x4.gguf");
    const r = await patchGguf({ source: TINY, plan: plan(spec, { factor: 4 }), out });
    assert.deepEqual(r.files.map((f) => [f.action, f.verified]), [["patched", true]]);
    const i = await inspectGguf(out);
    assert.deepEqual(i.keys["llama.rope.scaling.type"], { value: "yarn", type: "string" });
    assert.deepEqual(i.keys["llama.rope.scaling.factor"], { value: 4, type: "f32" });
    assert.deepEqual(i.keys["llama.rope.scaling.original_context_length"], { value: 256, type: "u32" });
    assert.deepEqual(i.keys["llama.context_length"], { value: 1024, type: "u32" });
    assert.equal(i.spec.scaling.method, "yarn");
    assert.equal(i.spec.originalContext, 256);
    assert.equal(i.headerBytes % 32, 0);
    assert.ok((await dataRegion(out)).equals(await dataRegion(TINY)));
    assert.equal(sha(TINY), before);
    assert.deepEqual(readdirSync(dir), ["x4.gguf"]); // no temp file left
    // The lead's llama.cpp engine profile reads the keys we wrote.
    const stored = (await ggufConverter.read(out)).stored;
    assert.deepEqual(stored.gguf, { architecture: "llama", contextLength: 1024, scalingType: "yarn", factor: 4, originalContextLength: 256 });
    assert.ok(llamacppView(stored).attentionFactor > 1.13);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("existing keys keep their stored types; general.alignment is honoured", async () => {
  const dir = tmp();
  try {
    const src = join(dir, "typed.gguf");
    writeFileSync(
      src,
      small(
        {
          "llama.context_length": { value: 4096n, type: GGUFValueType.UINT64 },
          "llama.rope.scaling.type": { value: "none", type: GGUFValueType.STRING },
          "llama.rope.scaling.factor": { value: 1, type: GGUFValueType.FLOAT64 },
          "general.tags": { value: ["text-generation", "é"], type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING },
          "llama.attention.head_count_kv": { value: [2, 2, 4], type: GGUFValueType.ARRAY, subType: GGUFValueType.INT32 },
          "tokenizer.ggml.tokens": { value: Array.from({ length: 20000 }, (_, i) => `t${i}`), type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING },
        },
        { alignment: 256 },
      ),
    );
    const spec = (await inspectGguf(src)).spec;
    const out = join(dir, "out.gguf");
    await patchGguf({ source: src, plan: plan(spec, { factor: 8 }), out });
    const i = await inspectGguf(out);
    assert.deepEqual(i.keys["llama.context_length"], { value: 32768, type: "u64" });
    assert.deepEqual(i.keys["llama.rope.scaling.factor"], { value: 8, type: "f64" });
    assert.equal(i.headerBytes % 256, 0);
    assert.ok((await dataRegion(out)).equals(await dataRegion(src)));
    assert.equal(i.spec.rotaryDim, 64); // fallback: embedding_length / head_count
    // Arrays of strings (the vocabulary, however small) are not decoded, and come through byte for byte; small
    // numeric arrays are decoded.
    const [a, b] = [await openLocalSource(src), await openLocalSource(out)];
    const [ha, hb] = [await readGgufHeader(a), await readGgufHeader(b)];
    await Promise.all([a.close(), b.close()]);
    assert.deepEqual(ha.skippedKeys, ["general.tags", "tokenizer.ggml.tokens"]);
    assert.deepEqual(hb.metadata["llama.attention.head_count_kv"]?.value, [2, 2, 4]);
    for (const key of ha.skippedKeys) {
      const span = (h: typeof ha) => h.kvs.find((k) => k.key === key)!;
      assert.ok(Buffer.from(ha.raw.subarray(span(ha).start, span(ha).end)).equals(hb.raw.subarray(span(hb).start, span(hb).end)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("DeepSeek2 gets yarn_log_multiplier = 0.1·mscale_all_dim; non-default betas are written with a warning", async () => {
  const dir = tmp();
  try {
    const src = join(dir, "ds.gguf");
    writeFileSync(
      src,
      makeGguf({
        arch: "deepseek2",
        kv: {
          "deepseek2.context_length": { value: 4096, type: U32 },
          "deepseek2.rope.dimension_count": { value: 64, type: U32 },
          "deepseek2.rope.freq_base": { value: 10000, type: F32 },
        },
        tensors: [{ name: "w", shape: [32] }],
      }),
    );
    const spec = (await inspectGguf(src)).spec;
    const out = join(dir, "out.gguf");
    const r = await patchGguf({ source: src, plan: plan(spec, { factor: 40, mscale: 0.707, mscaleAllDim: 0.707, betaFast: 16 }), out });
    const i = await inspectGguf(out);
    assert.deepEqual(i.keys["deepseek2.rope.scaling.yarn_log_multiplier"], { value: Math.fround(0.0707), type: "f32" });
    assert.deepEqual(i.keys["deepseek2.rope.scaling.yarn_beta_fast"], { value: 16, type: "f32" });
    assert.ok(Math.abs(i.llamacpp.yarnLogMul - 0.707) < 1e-6);
    assert.ok(Math.abs(i.spec.scaling.mscaleAllDim! - 0.707) < 1e-6);
    assert.ok(r.warnings.some((w) => /yarn_beta_fast only for some architectures/.test(w)));
    assert.deepEqual(i.llamacpp.ignoredKeys, ["deepseek2.rope.scaling.yarn_beta_fast"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a remote GGUF is inspected from its header only and patched to the same bytes as the local file", async () => {
  const dir = tmp();
  try {
    const bytes = readFileSync(TINY);
    const server = bytesFetch(bytes);
    const url = "https://example.invalid/org/repo/resolve/main/tiny.gguf";
    const i = await inspectGguf(url, { fetch: server.fetch });
    assert.equal(i.spec.context, 256);
    assert.ok(server.sent() <= i.headerBytes + 2 * 1024 * 1024, `fetched ${server.sent()} bytes for a ${i.headerBytes}-byte header`);
    const p = plan(i.spec, { factor: 2 });
    await patchGguf({ source: url, plan: p, out: join(dir, "remote.gguf"), fetch: server.fetch });
    await patchGguf({ source: TINY, plan: p, out: join(dir, "local.gguf") });
    assert.equal(sha(join(dir, "remote.gguf")), sha(join(dir, "local.gguf")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a header read before is not read again (a remote patch then downloads only the data); a file resized since is", async () => {
  const dir = tmp();
  try {
    // Tensor data ends 4 bytes before the file does (alignment padding): the copy must still reach the end.
    const bytes = small();
    const file = join(dir, "m.gguf");
    writeFileSync(file, bytes);
    const server = bytesFetch(bytes);
    const url = "https://example.invalid/org/repo/resolve/main/m.gguf";
    const header = await readGgufHeader(openRemoteSource(url, { fetch: server.fetch }));
    const p = plan(ggufRopeSpec(header.metadata, header.architecture), { factor: 2 });
    const before = server.sent();
    await patchGguf({ source: url, header, plan: p, out: join(dir, "remote.gguf"), fetch: server.fetch });
    assert.equal(server.sent() - before, bytes.length - header.dataOffset);
    await patchGguf({ source: file, plan: p, out: join(dir, "local.gguf") });
    assert.equal(sha(join(dir, "remote.gguf")), sha(join(dir, "local.gguf")));

    writeFileSync(file, small({}, { tensors: [{ name: "a", shape: [64, 5] }] }));
    const out = join(dir, "resized.gguf");
    await patchGguf({ source: file, header: { ...header, file }, plan: p, out });
    assert.equal((await inspectGguf(out)).tensorCount, 1);
    assert.ok((await dataRegion(out)).equals(await dataRegion(file)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("split GGUF: shard 1 gets the keys, the other shards are linked or copied unchanged, split.* kept", async () => {
  const dir = tmp();
  try {
    const srcDir = join(dir, "src");
    mkdirSync(srcDir);
    const names = [1, 2, 3].map((n) => join(srcDir, `m-0000${n}-of-00003.gguf`));
    names.forEach((name, k) =>
      writeFileSync(
        name,
        small(
          k === 0 ? {
            "split.no": { value: 0, type: GGUFValueType.UINT16 },
            "split.count": { value: 3, type: GGUFValueType.UINT16 },
            "split.tensors.count": { value: 6, type: GGUFValueType.INT32 },
          } : {
            "split.no": { value: k, type: GGUFValueType.UINT16 },
            "split.count": { value: 3, type: GGUFValueType.UINT16 },
          },
        ),
      ),
    );
    const spec = (await inspectGguf(names[0])).spec;
    const outDir = join(dir, "out") + "/";
    const r = await patchGguf({ source: names[1], plan: plan(spec, { factor: 4 }), out: outDir });
    assert.equal(r.files.length, 3);
    assert.equal(r.files[0].action, "patched");
    // Same file system: each shard a reflink or a hard link, and truly so (inode, link count; never claimed on Deno).
    for (const [k, f] of r.files.slice(1).entries()) assertCarried(names[k + 1], f.out, f.action, true);
    const i = await inspectGguf(join(outDir, "m-00001-of-00003.gguf"));
    assert.equal(i.keys["llama.rope.scaling.type"].value, "yarn");
    assert.deepEqual(i.split, { count: 3, no: 0 });
    for (const k of [2, 3]) assert.equal(sha(join(outDir, `m-0000${k}-of-00003.gguf`)), sha(names[k - 1]));
    // Remote shards cannot be linked: they are streamed, hashed on the way and verified.
    const servers = new Map(names.map((n) => [basename(n), bytesFetch(readFileSync(n))]));
    const fetchShard = ((url: string, init?: RequestInit) => servers.get(basename(url))!.fetch(url, init)) as typeof fetch;
    const remoteDir = join(dir, "remote") + "/";
    const url = "https://example.invalid/org/repo/resolve/main/m-00001-of-00003.gguf";
    const rr = await patchGguf({ source: url, plan: plan(spec, { factor: 4 }), out: remoteDir, fetch: fetchShard });
    assert.deepEqual(rr.files.map((f) => [f.action, f.verified]), [["patched", true], ["copied", true], ["copied", true]]);
    for (const k of [1, 2, 3]) assert.equal(sha(join(remoteDir, `m-0000${k}-of-00003.gguf`)), sha(join(outDir, `m-0000${k}-of-00003.gguf`)));
    await assert.rejects(
      patchGguf({ source: names[0], plan: plan(spec, { factor: 4 }), out: join(dir, "single.gguf") }),
      (e: unknown) => e instanceof GgufError && e.code === "split",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("progress events come in order; an existing output or the source itself is refused; abort leaves nothing", async () => {
  const dir = tmp();
  try {
    const spec = (await inspectGguf(TINY)).spec;
    const p = plan(spec, { factor: 2 });
    const out = join(dir, "x2.gguf");
    const events: PatchGgufEvent[] = [];
    const it = patchGgufIter({ source: TINY, plan: p, out, bufferBytes: 1 << 20 });
    let res = await it.next();
    for (; !res.done; res = await it.next()) events.push(res.value);
    const phases = events.filter((e) => e.event === "phase").map((e) => e.phase);
    assert.deepEqual(phases, ["read", "write", "verify"]);
    const writes = events.filter((e) => e.event === "progress" && e.phase === "write");
    assert.ok(writes.length >= 2);
    const last = writes[writes.length - 1] as Extract<PatchGgufEvent, { event: "progress" }>;
    assert.equal(last.bytes, last.total);
    assert.equal(last.total, statSync(out).size);

    const mtime = statSync(out).mtimeMs;
    await assert.rejects(patchGguf({ source: TINY, plan: p, out }), (e: unknown) => e instanceof OutputError && /output path exists/.test(e.message));
    assert.equal(statSync(out).mtimeMs, mtime);
    await assert.rejects(patchGguf({ source: out, plan: p, out, overwrite: true }), /the output is the source/);

    const ac = new AbortController();
    const aborted = join(dir, "aborted.gguf");
    const run = patchGgufIter({ source: TINY, plan: p, out: aborted, abortSignal: ac.signal, bufferBytes: 1 << 20 });
    await assert.rejects(async () => {
      for (let r = await run.next(); !r.done; r = await run.next()) if (r.value.event === "progress") ac.abort();
    });
    assert.deepEqual(readdirSync(dir), ["x2.gguf"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("verification catches a tensor-data byte that differs from the source: read back during the copy, or by hash", async () => {
  const dir = tmp();
  try {
    const a = join(dir, "a.gguf");
    const b = join(dir, "b.gguf");
    const bytes = small();
    writeFileSync(a, bytes);
    const bad = bytes.slice();
    bad[bad.length - 5] ^= 1;
    writeFileSync(b, bad);
    // Local copies compare each chunk read back from the output with what was read from the source.
    const source = await openLocalSource(a);
    const out = await open(join(dir, "copy.bin"), "w+");
    // An output that flips one bit of what it is given: only the read-back can notice.
    const flaky = {
      write(buf: Uint8Array, off: number, len: number, pos: number) {
        const c = buf.slice(off, off + len);
        if (pos <= 100 && 100 < pos + len) c[100 - pos] ^= 1;
        return out.write(c, 0, len, pos);
      },
      read: (buf: Uint8Array, off: number, len: number, pos: number) => out.read(buf, off, len, pos),
    } as unknown as FileHandle;
    const copy = (handle: FileHandle) =>
      copyRange({
        openReader: (from, to) => source.openRange(from, to),
        out: handle,
        outOffset: 0,
        length: bytes.length,
        bufferBytes: 64,
        lanes: 4,
        readBack: (at, n) => new Error(`differs within ${at}..${at + n}`),
        onShort: () => new Error("short"),
      });
    await copy(out);
    await assert.rejects(copy(flaky), /differs within 64\.\.128/);
    await out.close();
    await source.close();
    // A remote source's data is hashed while it streams; the output is hashed afterwards.
    const [sa, sb] = [await openLocalSource(a), await openLocalSource(b)];
    const [ha, hb] = [await readGgufHeader(sa), await readGgufHeader(sb)];
    const length = bytes.length - ha.dataOffset;
    const sha256 = createHash("sha256").update(bytes.subarray(ha.dataOffset)).digest("hex");
    await checkDataHash({ file: a, path: a, dataOffset: ha.dataOffset, sha256, length });
    await assert.rejects(checkDataHash({ file: b, path: b, dataOffset: hb.dataOffset, sha256, length }), /SHA-256 [0-9a-f]+, source/);
    await Promise.all([sa.close(), sb.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("verification of the written header: planned keys, every other key, the vocabulary's bytes, tensor infos, data offset", async () => {
  const dir = tmp();
  try {
    const vocab = (t: string) => ({ "tokenizer.ggml.tokens": { value: ["a", t, "c"], type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING } });
    const src = join(dir, "src.gguf");
    writeFileSync(src, small(vocab("b")));
    let files = 0;
    const header = async (bytes: Uint8Array) => {
      const f = join(dir, `h${files++}.gguf`);
      writeFileSync(f, bytes);
      const s = await openLocalSource(f);
      try {
        return await readGgufHeader(s);
      } finally {
        await s.close();
      }
    };
    const source = await header(readFileSync(src));
    const out = join(dir, "out.gguf");
    const r = await patchGguf({ source: src, plan: plan(ggufRopeSpec(source.metadata, "llama"), { factor: 4 }), out });
    const written = await header(readFileSync(out));
    const base = { file: out, path: out, size: statSync(out).size, source, entries: r.keys, dataOffset: written.dataOffset, dataLength: statSync(out).size - written.dataOffset };
    await checkWrittenHeader(base);
    const fails = (changes: Partial<typeof base>, message: RegExp) =>
      assert.rejects(checkWrittenHeader({ ...base, ...changes }), (e: unknown) => e instanceof GgufError && e.code === "verify" && message.test(e.message));
    await fails({ entries: r.keys.map((k) => (k.key.endsWith("scaling.factor") ? { ...k, value: 8 } : k)) }, /llama\.rope\.scaling\.factor is 4 \(type 6\), expected 8/);
    await fails({ source: await header(small({ ...vocab("b"), "llama.rope.freq_base": { value: 10000, type: F32 } })) }, /key llama\.rope\.freq_base changed/);
    await fails({ source: await header(small(vocab("x"))) }, /key tokenizer\.ggml\.tokens changed/);
    await fails({ source: await header(small(vocab("b"), { tensors: [{ name: "a", shape: [64, 3] }, { name: "b", shape: [8] }] })) }, /tensor infos differ/);
    await fails({ dataOffset: written.dataOffset + 32 }, /tensor data at \d+ \(\d+ bytes\), expected/);
    await fails({ size: base.size + 1 }, /tensor data at \d+ \(\d+ bytes\), expected/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lanes: one, three or the default copy the same bytes (verified), a count below one is refused", async () => {
  const dir = tmp();
  try {
    const p = plan((await inspectGguf(TINY)).spec, { factor: 4 });
    const outs = [undefined, 1, 3].map((lanes) => join(dir, `l${lanes ?? "default"}.gguf`));
    for (const [k, lanes] of [undefined, 1, 3].entries()) {
      const r = await patchGguf({ source: TINY, plan: p, out: outs[k]!, bufferBytes: 1 << 20, ...(lanes ? { lanes } : {}) });
      assert.equal(r.files[0]!.verified, true);
    }
    assert.equal(sha(outs[1]!), sha(outs[0]!));
    assert.equal(sha(outs[2]!), sha(outs[0]!));
    await assert.rejects(patchGguf({ source: TINY, plan: p, out: join(dir, "zero.gguf"), lanes: 0 }), RangeError);
    assert.equal(existsSync(join(dir, "zero.gguf")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the Converter adapter: accepts .gguf, a dry run diffs the keys and writes nothing", async () => {
  const dir = tmp();
  try {
    assert.ok(ggufConverter.accepts(TINY));
    assert.ok(!ggufConverter.accepts(sharedPath("models/tiny-llama-py/config.json")));
    const info = await ggufConverter.read(TINY);
    assert.deepEqual((info.details?.keys as Record<string, unknown>)["llama.rope.dimension_count"], { value: 64, type: "u32" });
    const p = plan(info.spec, { factor: 4 });
    assert.match(ggufConverter.defaultOut(TINY, p), /tiny-llama-f16-yarn-1024\.gguf$/);
    const out = join(dir, "dry.gguf");
    const r = await ggufConverter.patch({ info, plan: p, out, dryRun: true });
    assert.match(r.diff, /^\+llama\.rope\.scaling\.type = "yarn" \(string\)$/m);
    assert.match(r.diff, /^-llama\.context_length = 256 \(u32\)$/m);
    assert.equal(r.stored.gguf?.factor, 4);
    assert.deepEqual(readdirSync(dir), []);
    const real = await ggufConverter.patch({ info, plan: p, out, dryRun: false });
    assert.deepEqual(real.files, [{ path: out, how: "written" }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("llama.cpp parameters: yarn keys read as llama.cpp's loader does", () => {
  const meta = {
    "llama.context_length": { value: 131072, type: U32 },
    "llama.rope.freq_base": { value: 1e6, type: F32 },
    "llama.rope.dimension_count": { value: 128, type: U32 },
    "llama.rope.scaling.type": { value: "yarn", type: GGUFValueType.STRING },
    "llama.rope.scaling.factor": { value: 4, type: F32 },
    "llama.rope.scaling.yarn_beta_fast": { value: 16, type: F32 },
  } as unknown as Parameters<typeof llamaCppRopeParams>[0];
  const ll = llamaCppRopeParams(meta, "llama");
  assert.equal(ll.freqScale, 0.25);
  assert.equal(ll.nCtxOrigYarn, 131072); // no original_context_length: falls back to context_length
  assert.equal(ll.betaFast, 32); // ignored outside grok
  assert.deepEqual(ll.ignoredKeys, ["llama.rope.scaling.yarn_beta_fast"]);
  const grok = Object.fromEntries(Object.entries(meta).map(([k, v]) => [k.replace(/^llama\./, "grok."), v]));
  assert.equal(llamaCppRopeParams(grok as typeof meta, "grok").betaFast, 16);
  assert.equal(ggufHeaderBytes({ tensors: [] }).header.length % 32, 0);
});

test("progressText: percent, bytes, rate and ETA for the CLI's bar", () => {
  const line = progressText({ event: "progress", phase: "write", file: "x", bytes: 512 * 2 ** 20, total: 2 * 2 ** 30 }, 0, 1000);
  assert.equal(line, "write   25%  512.0 MiB / 2.0 GiB  512.0 MiB/s  ETA 3s");
});
