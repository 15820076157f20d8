// A content-keyed cache of llama.cpp judge outputs, shared by the three runtimes of one `test/all.sh` run: llama.cpp's
// figures depend only on its inputs (the files' bytes, the documents, the options), not on the runtime running yarnify,
// so the first runtime computes them and the others read them back, while each still runs all of yarnify (a file
// yarnify wrote differently on another runtime has other bytes, hence another key, and llama.cpp runs on it).
// `test/all.sh` exports YARNIFY_JUDGE_CACHE (a folder it makes and removes); without it every call computes. The same
// folder keeps fixtures that are slow to make (quantized GGUFs), keyed on everything that determines their bytes.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, copyFileSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LlamaCppPerplexityParams, PerplexityResult } from "../../bench/llamacpp/perplexity.ts";
import { runtimeName } from "../../src/core/runtime.ts";

/** The sha256 of a file's bytes, read in 4 MiB pieces (the tiny model's GGUFs are tens of MiB). */
function fileDigest(path: string): string {
  const hash = createHash("sha256");
  const buf = new Uint8Array(4 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return `${statSync(path).size}:${hash.digest("hex")}`;
}

/** The folder of this test/all.sh run's cache, or undefined. */
function cacheDir(): string | undefined {
  return process.env.YARNIFY_JUDGE_CACHE || undefined;
}

/** Writes `path` through a temporary name, so that a concurrent reader sees all of it or nothing. */
function putEntry(path: string, put: (temp: string) => void): void {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  put(temp);
  renameSync(temp, path);
}

/** Where the judge's input lies: files hashed by content, everything else (documents, options) by its JSON. */
export interface JudgeInputs {
  /** Files llama.cpp reads (GGUF models); their bytes, not their paths, make the key. */
  files: readonly string[];
  /** Every other input and option, JSON-serializable: documents, lengths, K/V cache types, threads. */
  options: unknown;
}

/**
 * Runs `compute` (a llama.cpp judgement) or, under `test/all.sh`, returns what an earlier runtime of the same run
 * computed from identical inputs. `what` names the judgement (different judgements never share a key); the result
 * must survive JSON (numbers, strings, arrays, plain objects). Entries are written to a temporary name and renamed,
 * so a concurrent reader sees a whole entry or none.
 *
 * @example
 * const nll = await judged("perplexity", { files: [gguf], options: { docs, length, exact: true } },
 *   async () => (await llamaCppPerplexity({ modelPath: gguf, docs, length, exact: true })).meanNll);
 */
export async function judged<T>(what: string, inputs: JudgeInputs, compute: () => Promise<T>): Promise<T> {
  const dir = cacheDir();
  if (!dir) return compute();
  const key = createHash("sha256")
    .update(JSON.stringify({ what, files: inputs.files.map(fileDigest), options: inputs.options }))
    .digest("hex");
  const entry = join(dir, `${key}.json`);
  try {
    return JSON.parse(readFileSync(entry, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const value = await compute();
  putEntry(entry, (temp) => writeFileSync(temp, JSON.stringify(value)));
  return value;
}

/**
 * Writes a test fixture with `write(file)` or, under test/all.sh, copies the bytes an earlier runtime wrote from the
 * same `inputs`: typed arrays among them are hashed by their bytes, everything else by its JSON, and together they
 * must determine the file. For fixtures only (the test's inputs), never for what yarnify writes.
 *
 * @example
 * await cachedFixture(file, ["gguf fixture", f.config, type, ...[...w].flatMap(([n, t]) => [n, t.shape, t.data])],
 *   (path) => writeGgufFixture(path, f, w, type));
 */
export async function cachedFixture(file: string, inputs: readonly unknown[], write: (file: string) => Promise<void>): Promise<void> {
  const dir = cacheDir();
  if (!dir) return write(file);
  const hash = createHash("sha256");
  for (const x of inputs) {
    if (ArrayBuffer.isView(x)) hash.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    else hash.update(JSON.stringify(x) ?? "undefined");
    hash.update("\0");
  }
  const entry = join(dir, `${hash.digest("hex")}.fixture`);
  try {
    copyFileSync(entry, file);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await write(file);
  putEntry(entry, (temp) => copyFileSync(file, temp));
}

/**
 * llama.cpp's perplexity (bench/llamacpp/perplexity.ts) through the cache: keyed on the model's bytes, the documents
 * and every option. `judge` is the loaded module's function, passed in so that node-llama-cpp is imported only by the
 * tests that check it loads on their runtime.
 *
 * @example
 * const r = await cachedPerplexity(judge.llamaCppPerplexity, { modelPath: gguf, docs, length: 512, exact: true });
 */
export function cachedPerplexity(
  judge: (p: LlamaCppPerplexityParams) => Promise<PerplexityResult>,
  p: LlamaCppPerplexityParams,
): Promise<PerplexityResult> {
  const { modelPath, ...options } = p;
  return judged("llama.cpp perplexity", { files: [modelPath], options }, () => judge(p));
}

/**
 * The judge (bench/llamacpp/perplexity.ts) once node-llama-cpp has loaded on this runtime; where it does not, undefined
 * and a line saying which tests (`what`) are not registered and why.
 *
 * @example
 * const judge = await loadJudge("llama.cpp judge");
 * if (judge) test("…", async () => { … });
 */
export async function loadJudge(what: string): Promise<typeof import("../../bench/llamacpp/perplexity.ts") | undefined> {
  try {
    const judge = await import("../../bench/llamacpp/perplexity.ts");
    await judge.cpuLlama();
    return judge;
  } catch (err) {
    console.log(`     ${what} not registered: node-llama-cpp does not load on ${runtimeName()} (${String((err as Error)?.message ?? err).split("\n")[0]})`);
    return undefined;
  }
}
