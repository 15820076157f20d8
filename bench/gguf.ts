// GGUF patch benchmark: wall time against `cp` of the same file, peak RSS at each size, the naive @huggingface/gguf
// way (new Blob([newHeader, file.slice(dataOffset)]) written out), and the bytes a remote plan downloads, counted at
// a local HTTP server. Every operation is a fresh process timed from spawn to exit, cp included; the patch is the
// CLI as a user starts it (bin/yarnify.cjs on Node, src/cli.ts on Bun and Deno; bench/cli-report.cjs preloaded to
// report its time and peak RSS). The operations run in rounds (cp, patch, patch --no-verify, the order rotated each
// round), so a noisy neighbour slows both sides of a round: the median of the per-round ratios is the robust figure,
// the ratio of the medians is printed beside it. CPU time (user + system, all threads, from /proc on Linux) shows
// what each costs where cores are few.
// With --lanes 4,8,16 it also times, in fresh processes and the same rounds, a verified patchGguf() call alone (no
// start-up) with each number of copy lanes, Node's thread pool sized to match: what LOCAL_LANES should be.
// Usage: node dist/bench/gguf.js [sizesGiB=0.5,2] [dir=os.tmpdir()] [--rounds 5] [--lanes 4,8,16]
//        (or: bun bench/gguf.ts ..., deno run -A bench/gguf.ts ...: the children run on the same runtime)
import { spawnSync } from "node:child_process";
import { createReadStream, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGgufHeader, gguf, GGUFValueType } from "@huggingface/gguf";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { LOCAL_LANES } from "../converters/gguf/copy.ts";
import { ggufKeysForPlan, withEntries } from "../converters/gguf/keys.ts";
import { plan } from "../src/core/plan.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { writeBigGguf } from "../test/support/gguf-make.ts";
import { peakRssBytes } from "./peak-rss.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const CP = "/bin/cp";
const SYNC = "/bin/sync";
/** The repository (or installed package) root, from bench/ (Bun, Deno) or dist/bench/ (Node). */
const ROOT = fileURLToPath(new URL(runtimeName() === "node" ? "../../" : "../", import.meta.url));
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

type Op = "cp" | "patch" | "patch-no-verify" | "naive";
const LABEL: Record<Op, string> = { cp: "cp", patch: "patch (verify)", "patch-no-verify": "patch --no-verify", naive: "naive Blob write" };

/** What a child reports: its own time (from after the runtime started, imports included) and peak RSS. */
interface ChildReport {
  seconds: number;
  maxRssMiB: number;
}

/** Child mode: the naive way in this fresh process, printing a ChildReport as JSON. */
async function naiveChild(src: string, out: string): Promise<void> {
  const started = performance.now();
  // The library's own way: full typed parse, edit, buildGgufHeader, one Blob written out.
  const h = await gguf(src, { allowLocalFile: true, typedMetadata: true });
  const p = plan((await inspectGguf(src)).spec, { factor: 4 });
  const keys = ggufKeysForPlan(String(h.typedMetadata["general.architecture"]?.value), p, h.typedMetadata).entries;
  const meta = withEntries(h.typedMetadata, keys);
  const alignment = Number(h.typedMetadata["general.alignment"]?.value ?? 32);
  const file = await openAsBlob(src);
  const header = await buildGgufHeader(file, meta, { littleEndian: h.littleEndian, tensorInfoByteRange: h.tensorInfoByteRange, alignment });
  const blob = new Blob([header, file.slice(Number(h.tensorDataOffset))]);
  const fh = await open(out, "w");
  let pos = 0;
  for await (const chunk of blob.stream() as unknown as AsyncIterable<Uint8Array>) {
    // Deno's stream yields the whole slice as one chunk, and one write takes less than 2 GiB.
    for (let at = 0; at < chunk.length; at += GiB) await fh.write(chunk, at, Math.min(GiB, chunk.length - at), pos + at);
    pos += chunk.length;
  }
  await fh.close();
  const report: ChildReport = { seconds: (performance.now() - started) / 1000, maxRssMiB: peakRssBytes() / MiB };
  console.log(JSON.stringify(report));
}

/** Child mode: a verified patchGguf() with `lanes` copy lanes in this fresh process; prints its seconds as JSON. */
async function lanesChild(src: string, out: string, lanes: number): Promise<void> {
  const p = plan((await inspectGguf(src)).spec, { factor: 4 });
  const started = performance.now();
  await patchGguf({ source: src, plan: p, out, lanes });
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
}

/** This runtime as a command line (Deno needs `run -A`). */
const RUNTIME = [process.execPath, ...(runtimeName() === "deno" ? ["run", "-A"] : [])];

/** CPU seconds (user + system) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpuSeconds(): number {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /s, "").split(" ");
    // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17, in ticks.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Runs `command` in a fresh process writing `out` (removed first, the disk synced); returns its wall time from spawn to
 * exit, its CPU time and the last line it printed.
 */
function runFresh(command: string[], out: string, env?: NodeJS.ProcessEnv): { wall: number; cpu: number; last: string } {
  rmSync(out, { force: true });
  spawnSync(SYNC); // the previous output's dirty pages are not this run's to write
  const [cmd, ...args] = command;
  const cpuBefore = childCpuSeconds();
  const started = performance.now();
  const r = spawnSync(cmd!, args, { encoding: "utf8", ...(env && { env }) });
  const wall = (performance.now() - started) / 1000;
  const cpu = childCpuSeconds() - cpuBefore;
  if (r.status !== 0) throw new Error(`${command.join(" ")} failed (exit ${r.status}): ${r.stderr}`);
  return { wall, cpu, last: r.stdout.trim().split("\n").pop()! };
}

/** lanesChild in a fresh process (Node's libuv pool with a thread per lane, at least its default 4): its seconds. */
function runLanes(src: string, out: string, lanes: number): number {
  const env = { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, lanes)) };
  const r = runFresh([...RUNTIME, fileURLToPath(import.meta.url), "--child", "lanes", src, out, String(lanes)], out, env);
  return (JSON.parse(r.last) as { seconds: number }).seconds;
}

/** One operation in a fresh process (this runtime, or cp). */
function runOp(op: Op, src: string, out: string): { wall: number; cpu: number; child?: ChildReport } {
  const cli = join(ROOT, runtimeName() === "node" ? "bin/yarnify.cjs" : "src/cli.ts");
  const patch = ["patch", src, "--factor", "4", "--out", out, ...(op === "patch" ? [] : ["--no-verify"])];
  const command = op === "cp"
    ? [CP, src, out]
    : op === "naive"
    ? [...RUNTIME, fileURLToPath(import.meta.url), "--child", op, src, out]
    : [...RUNTIME, "--require", join(ROOT, "bench/cli-report.cjs"), cli, ...patch];
  const { wall, cpu, last } = runFresh(command, out);
  return op === "cp" ? { wall, cpu } : { wall, cpu, child: JSON.parse(last) as ChildReport };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
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
    // One request per connection: an idle keep-alive connection keeps Deno's server.close() waiting for ever.
    res.writeHead(m ? 206 : 200, { connection: "close", "content-length": end - start + 1, ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}) });
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

const ROUND: readonly Op[] = ["cp", "patch", "patch-no-verify"];

async function benchSize(dir: string, gib: number, rounds: number, laneCounts: readonly number[]): Promise<void> {
  const src = join(dir, `src-${gib}.gguf`);
  const { size, headerBytes } = await writeBigGguf(src, gib * GiB, vocabKv());
  const out = join(dir, "out.gguf");
  const wall: Record<Op, number[]> = { cp: [], patch: [], "patch-no-verify": [], naive: [] };
  const inProcess: Record<Op, number[]> = { cp: [], patch: [], "patch-no-verify": [], naive: [] };
  const cpu: Record<Op, number[]> = { cp: [], patch: [], "patch-no-verify": [], naive: [] };
  const rss: Record<Op, number> = { cp: 0, patch: 0, "patch-no-verify": 0, naive: 0 };
  const record = (op: Op, r: ReturnType<typeof runOp>) => {
    wall[op].push(r.wall);
    cpu[op].push(r.cpu);
    if (r.child) {
      inProcess[op].push(r.child.seconds);
      rss[op] = Math.max(rss[op], r.child.maxRssMiB);
    }
  };
  const byLanes = new Map(laneCounts.map((n) => [n, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < ROUND.length; k++) {
      const op = ROUND[(k + round) % ROUND.length];
      record(op, runOp(op, src, out));
    }
    for (let k = 0; k < laneCounts.length; k++) {
      const n = laneCounts[(k + round) % laneCounts.length]!;
      byLanes.get(n)!.push(runLanes(src, out, n));
    }
  }
  // The naive way is slow: one round of its own, against a cp run just before it.
  const naiveCp = runOp("cp", src, out).wall;
  record("naive", runOp("naive", src, out));
  rmSync(out, { force: true });
  const remote = await remoteBytes(src);
  rmSync(src, { force: true });

  const cpMedian = median(wall.cp);
  console.log(`${(size / GiB).toFixed(2)} GiB GGUF (${(headerBytes / MiB).toFixed(1)} MiB header), ${rounds} rounds; seconds from spawn to exit:`);
  console.log(`  ${"".padEnd(18)} ${"median".padStart(7)} ${"best".padStart(6)} ${"GiB/s".padStart(6)} ${"in-process".padStart(10)} ${"CPU s".padStart(6)} ${"peak RSS".padStart(9)}  ${"×cp: medians".padStart(12)} ${"per-round median".padStart(16)}`);
  for (const op of [...ROUND, "naive"] as const) {
    const w = wall[op];
    const perRound = op === "naive" ? [w[0] / naiveCp] : w.map((t, i) => t / wall.cp[i]);
    const m = median(w);
    const cols = [
      m.toFixed(2).padStart(7),
      Math.min(...w).toFixed(2).padStart(6),
      (size / GiB / m).toFixed(2).padStart(6),
      (op === "cp" ? "" : median(inProcess[op]).toFixed(2)).padStart(10),
      median(cpu[op]).toFixed(2).padStart(6),
      (op === "cp" ? "" : `${rss[op].toFixed(0)} MiB`).padStart(9),
      (op === "cp" ? "" : (m / cpMedian).toFixed(2)).padStart(12),
      (op === "cp" ? "" : median(perRound).toFixed(2)).padStart(16),
    ];
    console.log(`  ${LABEL[op].padEnd(18)} ${cols.join(" ")}${op === "naive" ? "  (1 run, against a cp run just before it)" : ""}`);
  }
  if (byLanes.size > 0) {
    const cols = [...byLanes].map(([n, t]) => `${n}: ${median(t).toFixed(2)} s`);
    console.log(`  verified patchGguf() alone, median by copy lanes (this machine's default is ${LOCAL_LANES}): ${cols.join(", ")}`);
  }
  console.log(`  remote plan: ${remote.fetched} bytes fetched for a ${remote.header}-byte header (header + ${((remote.fetched - remote.header) / MiB).toFixed(2)} MiB)`);
}

async function main(args: string[]): Promise<void> {
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const rounds = Number(option("--rounds") ?? 5);
  const laneCounts = (option("--lanes") ?? "").split(",").filter(Boolean).map(Number);
  const positional = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  const sizes = (positional[0] ?? "0.5,2").split(",").map(Number);
  const dir = mkdtempSync(join(positional[1] ?? tmpdir(), "yarnify-bench-gguf-"));
  console.log(`GGUF patch benchmark on ${runtimeName()} (${process.execPath}); files in ${dir}`);
  try {
    for (const gib of sizes) await benchSize(dir, gib, rounds, laneCounts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child" && process.argv[3] === "lanes") await lanesChild(process.argv[4], process.argv[5], Number(process.argv[6]));
else if (process.argv[2] === "--child") await naiveChild(process.argv[4], process.argv[5]);
else await main(process.argv.slice(2));
