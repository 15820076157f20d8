// Issue 16 items 2, 8, 10 and the stale half of 7, through the CLI for each format (HF folder, GGUF file, ONNX
// graph): an --out that is, is inside or contains the source (a symbolic link included) is refused before a byte is
// written; an --out whose parent folder is missing is refused alike; a live process's claim on an output refuses a
// second writer, while a killed run's lock and temporaries are removed by the next run (one line each). The hub's work
// folder and its cache downloads are cleaned the same way.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cloneFile } from "../src/core/io/model-dir.ts";
import { onStaleTemp, type StaleTemp } from "../src/core/io/temp-paths.ts";
import { repoCacheDir, snapshotDir } from "../src/hub/cache-dir.ts";
import { patchHub } from "../src/hub/patch-hub.ts";
import { runCli, runCliAsync } from "./support/cli-run.ts";
import { LLAMA_KV, makeGguf, writeBigGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { sharedPath } from "./support/shared.ts";

interface Models {
  root: string;
  /** The model argument of each format, and the folder (HF, ONNX) or file (GGUF) that is its source. */
  formats: Array<{ format: string; model: string; source: string }>;
}

/** A folder with one small model of each format: an HF config folder, a GGUF file, the tiny ONNX export. */
function models(): Models {
  const root = mkdtempSync(join(tmpdir(), "yarnify-safety-"));
  const hf = join(root, "hf");
  mkdirSync(hf);
  copyFileSync(sharedPath("models/tiny-llama-py/config.json"), join(hf, "config.json"));
  const gguf = join(root, "gguf");
  mkdirSync(gguf);
  writeFileSync(join(gguf, "m.gguf"), makeGguf({ arch: "llama", kv: LLAMA_KV, tensors: [{ name: "w", shape: [64, 64] }] }));
  const onnx = join(root, "onnx");
  mkdirSync(onnx);
  for (const f of ["model.onnx", "model.onnx.data"]) cloneFile(sharedPath(`models/tiny-llama-py/onnx/${f}`), join(onnx, f));
  copyFileSync(join(hf, "config.json"), join(onnx, "config.json")); // the graph's trained context
  return {
    root,
    formats: [
      { format: "hf", model: hf, source: hf },
      { format: "gguf", model: join(gguf, "m.gguf"), source: join(gguf, "m.gguf") },
      { format: "onnx", model: join(onnx, "model.onnx"), source: onnx },
    ],
  };
}

/** Every path under `dir` (links not followed) with a hash of each file's bytes: any file written, changed or removed shows. */
function tree(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) => {
    const r = join(rel, e.name);
    if (e.isDirectory()) return [`${r}/`, ...tree(dir, r)];
    if (e.isSymbolicLink()) return [`${r} ->`];
    return [`${r} ${createHash("sha256").update(readFileSync(join(dir, r))).digest("hex").slice(0, 16)}`];
  });
}

/** The id of a process that has exited (so no process runs under it). */
const deadPid = () => spawnSync("true").pid!;

test("an --out that is, is inside or contains the source, a symbolic link included, is refused with exit 4 before anything is written", () => {
  const m = models();
  try {
    for (const { format, model, source } of m.formats) {
      const link = join(m.root, `${format}-link`);
      symlinkSync(format === "gguf" ? dirname(source) : source, link);
      const before = tree(m.root);
      // Through the link into the source (a GGUF's source is the file: the link reaches the file itself).
      const into = format === "gguf" ? join(link, "m.gguf") : join(link, "sub");
      const a = runCli(["patch", model, "--factor", "4", "--out", into]);
      assert.equal(a.code, 4, `${format}: ${a.stderr}`);
      const said = format === "gguf" ? `the output is the source ${source}; the source is never modified` : `the output would be inside the source ${source}`;
      assert.equal(a.stderr, `yarnify: ${into}: ${said}\n`);
      // A folder around the source (a GGUF's output in a folder is a file in it, which contains nothing).
      if (format !== "gguf") {
        const b = runCli(["patch", model, "--factor", "4", "--out", m.root]);
        assert.equal(b.code, 4, `${format}: ${b.stderr}`);
        assert.equal(b.stderr, `yarnify: ${m.root}: the output would contain the source ${source}\n`);
      }
      assert.deepEqual(tree(m.root), before, `${format}: nothing written, the source untouched`);
    }
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

test("an --out whose parent folder does not exist is refused with exit 4 for every format; a new GGUF output folder appears only whole", () => {
  const m = models();
  try {
    const before = tree(m.root);
    for (const { format, model } of m.formats) {
      const out = join(m.root, "missing", "out");
      const r = runCli(["patch", model, "--factor", "4", "--out", out]);
      assert.equal(r.code, 4, `${format}: ${r.stderr}`);
      assert.equal(r.stderr, `yarnify: ${out}: parent directory ${join(m.root, "missing")} does not exist\n`);
    }
    assert.deepEqual(tree(m.root), before);
    // A GGUF output named as a folder ("dir/") is that folder: created when its parent exists.
    const r = runCli(["patch", m.formats[1].model, "--factor", "4", "--out", join(m.root, "new") + "/"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(m.root, "new")), ["m.gguf"]);
    // A split model whose second shard is missing fails before the folder is made: no empty folder at the final name.
    const shard1 = join(m.root, "gguf", "s-00001-of-00002.gguf");
    writeFileSync(shard1, readFileSync(m.formats[1].model));
    const split = runCli(["patch", shard1, "--factor", "4", "--out", join(m.root, "split") + "/"]);
    assert.equal(split.code, 2, split.stderr);
    assert.ok(!existsSync(join(m.root, "split")), "no folder at the final name");
    assert.deepEqual(readdirSync(m.root).filter((n) => n.includes("split")), []);
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

test("a live process's lock on --out refuses the patch (exit 4, naming it); a killed run's lock and temporary are removed, one line each", () => {
  const m = models();
  try {
    for (const { format, model } of m.formats) {
      const out = join(m.root, `${format}-out`);
      const lock = join(m.root, `.${format}-out.yarnify-lock`);
      writeFileSync(lock, `${process.pid} ${hostname()}\n`);
      const busy = runCli(["patch", model, "--factor", "4", "--out", out]);
      assert.equal(busy.code, 4, `${format}: ${busy.stderr}`);
      assert.equal(busy.stderr, `yarnify: ${out}: another yarnify process (pid ${process.pid}) is writing it (lock ${lock}; remove that file if no yarnify is running)\n`);
      assert.ok(!existsSync(out));

      const dead = deadPid();
      writeFileSync(lock, `${dead} ${hostname()}\n`);
      const temp = join(m.root, `.${format}-out.yarnify-${dead}-0badc0de.tmp`);
      mkdirSync(temp);
      writeFileSync(join(temp, "partial"), "left by a killed run");
      // A running process's temporary of the same output is not touched.
      const live = join(m.root, `.${format}-out.yarnify-${process.pid}-0badc0de.tmp`);
      writeFileSync(live, "");
      const r = runCli(["patch", model, "--factor", "4", "--out", out]);
      assert.equal(r.code, 0, `${format}: ${r.stderr}`);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("yarnify: removed"));
      assert.deepEqual(lines, [
        `yarnify: removed ${lock}, left by a yarnify run that was killed (pid ${dead})`,
        `yarnify: removed ${temp}, left by a yarnify run that was killed (pid ${dead})`,
      ]);
      assert.ok(existsSync(out) && !existsSync(temp) && !existsSync(lock) && existsSync(live));
      rmSync(live);
    }
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

test("two patch processes writing one --out: one writes it, the other exits 4 naming it; nothing else is left", async () => {
  const root = mkdtempSync(join(tmpdir(), "yarnify-race-"));
  try {
    const source = join(root, "m.gguf");
    await writeBigGguf(source, 64 * 1024 * 1024, LLAMA_KV);
    const out = join(root, "out.gguf");
    const runs = await Promise.all([0, 1].map(() => runCliAsync(["patch", source, "--factor", "4", "--out", out])));
    const codes = runs.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 4], runs.map((r) => r.stderr).join(""));
    const refused = runs.find((r) => r.code === 4)!;
    assert.match(refused.stderr, new RegExp(`^yarnify: ${out}: (another yarnify process \\(pid \\d+\\) is writing it|output path exists)[^\\n]*\\n$`));
    assert.deepEqual(readdirSync(root).sort(), ["m.gguf", "out.gguf"]);
    const verify = runCli(["inspect", out, "--json"]);
    assert.equal(JSON.parse(verify.stdout).rope.context, 16384);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });

test("a hub patch removes the work folder and the cache download a killed run left, and says so", async () => {
  const hub = new StandInHub();
  await hub.start();
  const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-stale-cache-"));
  const removed: StaleTemp[] = [];
  onStaleTemp((t) => removed.push(t));
  try {
    const config = readFileSync(sharedPath("models/tiny-llama-py/config.json"));
    const commit = hub.addRepo("org/tiny", { "config.json": config });
    const dead = deadPid();
    const work = join(tmpdir(), `.yarnify-hub.yarnify-${dead}-0badc0de.tmp`);
    mkdirSync(join(work, "model"), { recursive: true });
    const snap = snapshotDir(cacheDir, "org/tiny", commit);
    mkdirSync(snap, { recursive: true });
    const partial = join(snap, `.config.json.yarnify-${dead}-0badc0de.tmp`);
    writeFileSync(partial, "{ half a config");
    // The download itself goes to the cache's blobs/<etag> (huggingface_hub's layout), under a temporary name too.
    const blobs = join(repoCacheDir(cacheDir, "org/tiny"), "blobs");
    mkdirSync(blobs, { recursive: true });
    const etag = createHash("sha1").update(config).digest("hex");
    const partialBlob = join(blobs, `.${etag}.yarnify-${dead}-0badc0de.tmp`);
    writeFileSync(partialBlob, "{ half a");
    await patchHub({ hubUrl: hub.url, cacheDir, source: "org/tiny", factor: 4, dryRun: true });
    assert.deepEqual(removed.map((t) => t.path).sort(), [partial, partialBlob, work].sort());
    assert.ok(!existsSync(work) && !existsSync(partial) && !existsSync(partialBlob));
    assert.deepEqual(readdirSync(snap), ["config.json"]);
    assert.deepEqual(readdirSync(blobs), [etag]);
  } finally {
    onStaleTemp(undefined);
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
