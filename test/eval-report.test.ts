import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { runCliAsync } from "./support/cli-run.ts";
import { sharedPath } from "./support/shared.ts";
import { parseSvg } from "./support/svg.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { perplexityPlotSvg } from "../src/eval/plot-svg.ts";
import { perplexityMarkdownTable, perplexityTable } from "../src/eval/table.ts";
import type { PerplexityResult } from "../src/eval/result.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture } from "./support/family-fixtures.ts";

const results: PerplexityResult[] = [];
for (const [method, ppls] of [["none", [3.3174, 10.4654, 40.2]], ["yarn", [3.3174, 4.4089, 5.1]], ["pi <&>", [3.3174, 7.9071, Infinity]]] as const) {
  [256, 512, 1024].forEach((context, i) => results.push({ method, context, perplexity: ppls[i]!, tokens: 100, docs: 1 }));
}

test("eval report: SVG plot is well-formed, one line per method, log axes, escaped labels", () => {
  const svg = perplexityPlotSvg(results, { title: "tiny <model>" });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  const names = parseSvg(svg).map((e) => e.name);
  assert.equal(names.filter((n) => n === "polyline").length, 3);
  assert.ok(svg.includes("tiny &lt;model&gt;") && svg.includes("pi &lt;&amp;&gt;"));
  assert.ok(!svg.includes("NaN") && !svg.includes("Infinity"));
  // Log scale: equal ratios are equal distances along x (256→512 and 512→1024).
  const xs = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(256|512|1024)</g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 3);
  assert.ok(Math.abs(xs[1]! - xs[0]! - (xs[2]! - xs[1]!)) < 0.05);
  parseSvg(perplexityPlotSvg([]));
});

test("eval report: table has one row per method and one column per context", () => {
  const lines = perplexityTable(results).split("\n");
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^method\s+256\s+512\s+1024$/);
  assert.match(lines[3]!, /^yarn\s+3\.317\s+4\.409\s+5\.100$/);
  assert.match(lines[4]!, /Infinity$/);
});

test("eval report: Markdown table for the model card", () => {
  const md = perplexityMarkdownTable(results).split("\n");
  assert.equal(md[0], "| method | 256 | 512 | 1024 |");
  assert.equal(md[1], "|---|---:|---:|---:|");
  assert.equal(md[3], "| yarn | 3.317 | 4.409 | 5.100 |");
  assert.equal(md.length, 5);
});

test("patch --eval: the patched model's perplexity with and without its scaling, equal to `evaluate` on the original", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-patch-eval-"));
  try {
    const docs = JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] };
    const textFile = join(dir, "one-doc.jsonl");
    writeFileSync(textFile, JSON.stringify({ text: docs.docs[0]!.text }) + "\n");
    const out = join(dir, "tiny-yarn");
    const r = await runCliAsync(["patch", sharedPath("models/tiny-llama-py"), "--factor", "2", "--out", out, "--eval", textFile, "--eval-context", "256,512", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const patched = JSON.parse(r.stdout) as { evaluation: { ppl: { results: PerplexityResult[]; device: string } } };
    assert.deepEqual(Object.keys(patched.evaluation), ["ppl"], "--eval-tasks defaults to ppl");
    const figure = (method: string, context: number) => patched.evaluation.ppl.results.find((x) => x.method === method && x.context === context)!.perplexity;
    // Same weights, same frequencies: the patched config read as "model" is YaRN ×2 on the original, "none" the original.
    const direct = await evaluate({ model: sharedPath("models/tiny-llama-py"), texts: [docs.docs[0]!.text], contexts: [256, 512], methods: ["none", "yarn"], factor: 2 });
    const want = (method: string, context: number) => direct.results.find((x) => x.method === method && x.context === context)!.perplexity;
    for (const context of [256, 512]) {
      assert.ok(Math.abs(figure("none", context) / want("none", context) - 1) < 1e-3, `none@${context}`);
      assert.ok(Math.abs(figure("model", context) / want("yarn", context) - 1) < 1e-3, `model@${context}`);
    }
    assert.ok(figure("model", 512) < figure("none", 512), "YaRN lowers perplexity past the trained length");
    const text = await runCliAsync(["patch", sharedPath("models/tiny-llama-py"), "--factor", "2", "--out", join(dir, "again"), "--eval", textFile, "--eval-context", "128"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /without RoPE scaling\s+\d+\.\d{3}/);
    assert.match(text.stdout, /yarn x2 \(this model\)\s+\d+\.\d{3}/);
    const bad = await runCliAsync(["patch", sharedPath("models/tiny-llama-py"), "--factor", "2", "--out", join(dir, "bad"), "--eval", textFile, "--eval-context", "0"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--eval-context: "0" is not a whole number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 300_000 });

test("patch --eval on a GGUF of another family (Gemma 3): the card's figures are the evaluator's on the patched HF directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-patch-eval-gguf-"));
  try {
    const text = evalDocs(1)[0]!;
    const textFile = join(dir, "one-doc.jsonl");
    writeFileSync(textFile, JSON.stringify({ text }) + "\n");
    const f = FIXTURES.gemma3;
    const w = fixtureWeights(f);
    await writeGgufFixture(join(dir, "g.gguf"), f, w);
    writeHfFixture(join(dir, "hf"), f, w);
    const r = await runCliAsync(["patch", join(dir, "g.gguf"), "--factor", "2", "--out", join(dir, "g-x2.gguf"), "--eval", textFile, "--eval-context", "256,512", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const got = (JSON.parse(r.stdout) as { evaluation: { ppl: { results: PerplexityResult[]; family: string; format: string } } }).evaluation.ppl;
    assert.deepEqual([got.family, got.format], ["gemma3", "gguf"]);
    const direct = await evaluate({ model: join(dir, "hf"), texts: [text], contexts: [256, 512], methods: ["none", "yarn"], factor: 2, device: "cpu" });
    // The CLI measures on WebGPU where there is an adapter, with f16 weights where it has shader-f16: compare mean NLLs.
    for (const x of got.results) {
      const want = direct.results.find((y) => y.context === x.context && y.method === (x.method === "model" ? "yarn" : "none"))!;
      const rel = Math.abs(Math.log(x.perplexity) / Math.log(want.perplexity) - 1);
      assert.ok(rel < 1e-3, `${x.method}@${x.context}: ${x.perplexity} vs ${want.perplexity} on ${r.stdout.match(/"device": "[^"]*"/)?.[0]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 180_000 });
