// The passkey prompt builder's exact text (jquesnelle/yarn eval/passkey.py), its token-length bounds, the answer
// rule, the paper's summary, and greedy decoding and drift on the tiny model (CPU).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../src/core/random.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import {
  garbageText, PASSKEY_GARBAGE, PASSKEY_QUESTION, PASSKEY_TASK, passkeyAnswer, passkeyLine, passkeyPrompt, passkeyText,
} from "../src/eval/passkey.ts";
import { DriftAccumulator, passkeyContexts } from "../src/eval/tasks.ts";
import { runCliAsync } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { parseSvg } from "./support/svg.ts";

const TINY = sharedPath("models/tiny-llama-py");

test("passkey text: five parts joined by newlines, garbage cut by characters from its start", () => {
  assert.equal(passkeyLine(4217), "The pass key is 4217. Remember it. 4217 is the pass key.");
  assert.equal(garbageText(0), "");
  assert.equal(garbageText(25), "The grass is green. The s");
  // Repeats are joined by single spaces: character 88 is the space after the first copy.
  assert.equal(garbageText(PASSKEY_GARBAGE.length + 4), `${PASSKEY_GARBAGE} The`);
  assert.equal(garbageText(1000).length, 1000);
  const text = passkeyText(4217, 31, 12);
  assert.equal(text, [
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.",
    "The grass is",
    "The pass key is 4217. Remember it. 4217 is the pass key.",
    "The grass is green.",
    "What is the pass key? The pass key is",
  ].join("\n"));
  assert.ok(text.startsWith(PASSKEY_TASK) && text.endsWith(`\n${PASSKEY_QUESTION}`));
});

test("passkey prompt: between 85% and 100% of the context in tokens, the split and key as drawn", async () => {
  const ck = await openCheckpoint(TINY);
  const tok = ck.tokenizer();
  await ck.close();
  const random = seededRandom(7);
  for (const context of [256, 512, 1024]) {
    for (let i = 0; i < 3; i++) {
      const p = passkeyPrompt(tok, context, { random });
      assert.ok(p.tokens.length <= context && p.tokens.length >= 0.85 * context, `${p.tokens.length} tokens for ${context}`);
      assert.deepEqual(Array.from(p.tokens), tok.encode(p.text));
      assert.ok(Number.isInteger(p.key) && p.key >= 1 && p.key <= 50000);
      const prefix = Math.round(p.depth * p.garbageChars);
      assert.equal(p.text, passkeyText(p.key, p.garbageChars, prefix));
      // The garbage grew as far as it could: a few more characters reach the context.
      assert.ok(tok.encode(passkeyText(p.key, p.garbageChars + 8, prefix)).length > context - 4);
    }
  }
  const deep = passkeyPrompt(tok, 512, { random: seededRandom(1), depth: 1 });
  assert.equal(deep.depth, 1);
  assert.ok(deep.text.endsWith(`${passkeyLine(deep.key)}\n\n${PASSKEY_QUESTION}`), "depth 1: empty suffix");
  const a = passkeyPrompt(tok, 512, { random: seededRandom(3) });
  const b = passkeyPrompt(tok, 512, { random: seededRandom(3) });
  assert.equal(a.text, b.text, "the same seed draws the same prompt");
  assert.throws(() => passkeyPrompt(tok, 40, { random }), /shorter than the passkey prompt/);
});

test("passkey answer is the first run of digits; passkey context is the largest length with ≥ 80%", () => {
  assert.equal(passkeyAnswer(" 4217. Remember"), "4217");
  assert.equal(passkeyAnswer(" the 12 then 4217"), "12");
  assert.equal(passkeyAnswer(" a blue."), "");
  assert.deepEqual(passkeyContexts([
    { method: "yarn", context: 256, accuracy: 1 },
    { method: "yarn", context: 512, accuracy: 0.8 },
    { method: "yarn", context: 1024, accuracy: 0.1 },
    { method: "none", context: 256, accuracy: 0.5 },
  ]), { yarn: { context: 512, meanAccuracy: 0.9 }, none: { context: null, meanAccuracy: null } });
});

test("drift accumulator: KL of identical distributions is 0, of known ones matches the formula", () => {
  const acc = new DriftAccumulator();
  const p = Float64Array.from([0.5, 0.25, 0.25].map(Math.log));
  const q = Float64Array.from([0.25, 0.5, 0.25].map(Math.log));
  acc.add(p, p, 0);
  acc.add(p, q, 1);
  assert.equal(acc.count, 2);
  assert.ok(Math.abs(acc.kl - (0.5 * Math.log(2) + 0.25 * Math.log(0.5))) < 1e-12);
  assert.equal(acc.agree, 1);
  assert.ok(Math.abs(acc.nll - (Math.log(2) + Math.log(2))) < 1e-12);
});

test("eval --task passkey|drift --json give the issue's shapes and --plot their SVGs; a drift without --baseline is refused (exit 1, as a missing --text)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-task-plot-"));
  try {
    const plot = join(dir, "passkey.svg");
    const pk = await runCliAsync(["eval", TINY, "--task", "passkey", "--context", "96,128", "--trials", "1", "--methods", "none,yarn", "--depths", "0.5", "--seed", "3", "--plot", plot, "--json"]);
    assert.equal(pk.code, 0, pk.stderr);
    const r = JSON.parse(pk.stdout) as { task: string; results: { method: string; context: number; accuracy: number; trials: Record<string, unknown>[] }[]; passkeyContext: Record<string, unknown>; plot: string };
    assert.deepEqual(Object.keys(r).sort(), ["device", "model", "originalContext", "passkeyContext", "plot", "results", "task"]);
    assert.equal(r.task, "passkey");
    assert.equal(r.plot, plot);
    assert.deepEqual(r.results.map((x) => [x.method, x.context, x.trials.length]), [["none", 96, 1], ["yarn", 96, 1], ["none", 128, 1], ["yarn", 128, 1]]);
    for (const row of r.results) assert.deepEqual(Object.keys(row).sort(), ["accuracy", "context", "method", "trials"]);
    const t = r.results[0]!.trials[0]!;
    assert.deepEqual(Object.keys(t).sort(), ["answer", "continuation", "correct", "depth", "key", "prompt", "promptTokens"]);
    assert.equal(t.correct, t.answer === String(t.key));
    assert.ok(Math.abs((t.depth as number) - 0.5) < 0.02);
    assert.ok((t.prompt as string).includes(passkeyLine(t.key as number)));
    assert.deepEqual(Object.keys(r.passkeyContext).sort(), ["none", "yarn"]);
    for (const s of Object.values(r.passkeyContext)) assert.deepEqual(Object.keys(s as object).sort(), ["context", "meanAccuracy"]);
    const svg = parseSvg(readFileSync(plot, "utf8"));
    assert.equal(svg.filter((e) => e.name === "polyline").length, 2);
    const cells = svg.filter((e) => e.attrs["data-accuracy"] !== undefined);
    assert.deepEqual(cells.map((c) => Number(c.attrs["data-accuracy"])).sort(), r.results.map((x) => x.accuracy).sort(), "one cell per method × context at the one depth");
    const docs = sharedPath("data/eval-docs.json");
    const driftPlot = join(dir, "drift.svg");
    const dr = await runCliAsync(["eval", TINY, "--task", "drift", "--baseline", TINY, "--text", docs, "--context", "64", "--docs", "1", "--plot", driftPlot, "--json"]);
    assert.equal(dr.code, 0, dr.stderr);
    const d = JSON.parse(dr.stdout) as { task: string; results: { context: number; kl: number; perplexity: number; baselinePerplexity: number; top1Agreement: number }[] };
    assert.deepEqual(Object.keys(d).sort(), ["baseline", "device", "model", "notes", "plot", "results", "task"]);
    assert.equal(d.task, "drift");
    const row = d.results[0]!;
    // The five figures, and how many tokens and documents were scored.
    assert.deepEqual(Object.keys(row).sort(), ["baselinePerplexity", "context", "docs", "kl", "perplexity", "tokens", "top1Agreement"]);
    // The model against itself: no drift at all.
    assert.equal(row.context, 64);
    assert.ok(Math.abs(row.kl) < 1e-12);
    assert.equal(row.perplexity, row.baselinePerplexity);
    assert.equal(row.top1Agreement, 1);
    assert.equal(parseSvg(readFileSync(driftPlot, "utf8")).filter((e) => e.name === "circle").length, 1);
    const missing = await runCliAsync(["eval", TINY, "--task", "drift", "--text", docs]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--baseline <model> is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
