// GGUF patch benchmark: wall time against `cp` and against the naive @huggingface/gguf way
// (new Blob([newHeader, file.slice(dataOffset)]) written out), peak RSS at two file sizes, and the
// bytes a remote plan downloads, counted at a local HTTP server. Every ratio is measured in this run.
// Usage: node dist/bench/gguf.js [sizesGiB=0.5,2] [dir=os.tmpdir()]
import { spawnSync } from "node:child_process";
import { createReadStream, mkdtempSync, openAsBlob, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGgufHeader, gguf, GGUFValueType } from "@huggingface/gguf";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { ggufKeysForPlan, withEntries } from "../converters/gguf/keys.ts";
import { plan } from "../src/plan.ts";
import { runtimeName } from "../src/runtime.ts";
import { writeBigGguf } from "../test/gguf-make.ts";

const GiB = 2 ** 30;
const REPS = 3;
const MiB = 2 ** 20;
// A Qwen2.5-sized vocabulary, so the header (about 5 MiB) is as large as a real model's. Built only
// in the parent: the children's peak RSS must be the patch's own.
const vocabKv = (VOCAB = Array.from({ length: 152064 }, (_, i) => `tok${i.toString(36)}`)) => ({
  "llama.context_length": { value: 8192, type: GGUFValueType.UINT32 },
  "llama.rope.dimension_count": { value: 128, type: GGUFValueType.UINT32 },
  "llama.rope.freq_base": { value: 500000, type: GGUFValueType.FLOAT32 },
  "tokenizer.ggml.tokens": { value: VOCAB, type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING },
  "tokenizer.ggml.token_type": { value: VOCAB.map(() => 1), type: GGUFValueType.ARRAY, subType: GGUFValueType.INT32 },
  "tokenizer.ggml.merges": { value: VOCAB.map((t) => `${t} x`), type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING },
});

/** Child mode: one operation in a fresh process, printing its wall time and peak RSS as JSON. */
async function child(op: string, src: string, out: string): Promise<void> {
  const started = performance.now();
  const spec = (await inspectGguf(src)).spec;
  const p = plan(spec, { factor: 4 });
  if (op === "patch" || op === "patch-no-verify") {
    await patchGguf({ source: src, plan: p, out, verify: op === "patch" });
  } else if (op === "naive") {
    // The library's own way: full typed parse, edit, buildGgufHeader, one Blob written out.
    const h = await gguf(src, { allowLocalFile: true, typedMetadata: true });
    const keys = ggufKeysForPlan(String(h.typedMetadata["general.architecture"]?.value), p, h.typedMetadata).entries;
    const meta = withEntries(h.typedMetadata, keys);
    const alignment = Number(h.typedMetadata["general.alignment"]?.value ?? 32);
    const file = await openAsBlob(src);
    const header = await buildGgufHeader(file, meta, { littleEndian: h.littleEndian, tensorInfoByteRange: h.tensorInfoByteRange, alignment });
    const dataOffset = Number(h.tensorDataOffset);
    const blob = new Blob([header, file.slice(dataOffset)]);
    const fh = await open(out, "w");
    let pos = 0;
    for await (const chunk of blob.stream() as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk, 0, chunk.length, pos);
      pos += chunk.length;
    }
    await fh.close();
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function runChild(op: string, src: string, out: string): { seconds: number; maxRssMiB: number } {
  const self = fileURLToPath(import.meta.url);
  const rt = runtimeName();
  const args = rt === "deno" ? ["run", "-A", self, "--child", op, src, out] : [self, "--child", op, src, out];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Wall time of a shell copy: `cp` (in-kernel copy_file_range) or `dd bs=16M` (a user-space copy like ours). */
function timeCopy(tool: "cp" | "dd", src: string, out: string): number {
  const started = performance.now();
  const r = tool === "cp" ? spawnSync("cp", [src, out]) : spawnSync("dd", [`if=${src}`, `of=${out}`, "bs=16M", "status=none"]);
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr}`);
  return (performance.now() - started) / 1000;
}

async function remoteBytes(path: string): Promise<{ fetched: number; header: number }> {
  let sent = 0;
  const size = statSync(path).size;
  const server = createServer((req, res) => {
    const m = req.headers.range?.match(/bytes=(\d+)-(\d*)/);
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== "" ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (start >= size) {
      res.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return;
    }
    res.writeHead(m ? 206 : 200, { "content-length": end - start + 1, ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}) });
    const stream = createReadStream(path, { start, end });
    stream.on("data", (c) => (sent += c.length));
    stream.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.gguf`;
    const i = await inspectGguf(url);
    plan(i.spec, { factor: 4 });
    return { fetched: sent, header: i.headerBytes };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? "0.5,2").split(",").map(Number);
  const dir = mkdtempSync(join(process.argv[3] ?? tmpdir(), "yarnify-bench-gguf-"));
  console.log(`GGUF patch benchmark on ${runtimeName()} ${process.version}; files in ${dir}`);
  try {
    for (const gib of sizes) {
      const src = join(dir, `src-${gib}.gguf`);
      const { size } = await writeBigGguf(src, gib * GiB, vocabKv());
      spawnSync("sync");
      const out = join(dir, "out.gguf");
      const best = { cp: Infinity, dd: Infinity, patch: Infinity, noVerify: Infinity, naive: Infinity };
      const rss = { patch: 0, noVerify: 0, naive: 0 };
      for (let rep = 0; rep < REPS; rep++) {
        for (const op of ["cp", "dd", "patch-no-verify", "patch", "naive"] as const) {
          rmSync(out, { force: true });
          spawnSync("sync");
          if (op === "cp" || op === "dd") {
            best[op] = Math.min(best[op], timeCopy(op, src, out));
            continue;
          }
          const r = runChild(op, src, out);
          const key = op === "patch" ? "patch" : op === "naive" ? "naive" : "noVerify";
          best[key] = Math.min(best[key], r.seconds);
          rss[key] = Math.max(rss[key], r.maxRssMiB);
        }
      }
      rmSync(out, { force: true });
      const line = (name: string, s: number, r?: number) =>
        `  ${name.padEnd(26)} ${s.toFixed(2).padStart(6)} s  ${(size / GiB / s).toFixed(2)} GiB/s  ${(s / best.cp).toFixed(2)}x cp${r ? `  peak RSS ${r.toFixed(0)} MiB` : ""}`;
      console.log(`${(size / GiB).toFixed(2)} GiB GGUF (best of ${REPS}):`);
      console.log(line("cp", best.cp));
      console.log(line("dd bs=16M", best.dd));
      console.log(line("patch --no-verify", best.noVerify, rss.noVerify));
      console.log(line("patch (verify)", best.patch, rss.patch));
      console.log(line("naive Blob write", best.naive, rss.naive));
      const remote = await remoteBytes(src);
      console.log(`  remote plan: ${remote.fetched} bytes fetched for a ${remote.header}-byte header (header + ${((remote.fetched - remote.header) / MiB).toFixed(2)} MiB)`);
      rmSync(src, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
