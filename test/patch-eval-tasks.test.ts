// `patch --eval docs --eval-tasks ppl,passkey,drift --push`: each task a section of the published card, with the
// figures `eval --task … --json` computes for the same settings (tiny model, tiny contexts, one trial).
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DriftResult, PasskeyResult } from "../src/eval/tasks.ts";
import { runCliAsync } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { sharedPath } from "./support/shared.ts";

const TOKEN = "hf_test_writer";

/** The cells of a card's Markdown table row that starts with `name`. */
function rowOf(card: string, section: string, name: string): string[] {
  const body = card.slice(card.indexOf(`## ${section}\n`));
  const line = body.split("\n").find((l) => l.startsWith(`| ${name} |`));
  assert.ok(line, `no row "${name}" under ${section}`);
  return line.split("|").slice(2, -1).map((c) => c.trim());
}

test("patch --eval --eval-tasks ppl,passkey,drift: a card section per task, the figures of eval --task … --json", async () => {
  await withStandInHub(async (hub, dir) => {
    const model = join(dir, "tiny");
    cpSync(sharedPath("models/tiny-llama-py"), model, { recursive: true, filter: (src) => !/\.gguf$|\/onnx$/.test(src) });
    const docs = join(dir, "docs.jsonl");
    const all = JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] };
    writeFileSync(docs, JSON.stringify({ text: all.docs[0]!.text }) + "\n");
    const out = join(dir, "tiny-x2");
    const r = await runCliAsync([
      "patch", model, "--factor", "2", "--out", out, "--eval", docs, "--eval-tasks", "ppl,passkey,drift", "--eval-context", "96", "--eval-trials", "1",
      "--push", "me/tiny-x2", "--token", TOKEN, "--hub-url", hub.url, "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const evaluation = (JSON.parse(r.stdout) as { evaluation: { ppl: unknown; passkey: PasskeyResult; drift: DriftResult } }).evaluation;
    assert.deepEqual(Object.keys(evaluation), ["ppl", "passkey", "drift"]);
    const card = new TextDecoder().decode(hub.file("me/tiny-x2", "README.md"));
    const at = (s: string) => card.indexOf(`\n## ${s}\n`);
    assert.ok(at("Perplexity") > 0 && at("Perplexity") < at("Passkey retrieval") && at("Passkey retrieval") < at("Drift from the original"), card);
    assert.ok(at("Drift from the original") < at("Original model card"));

    // Passkey: the patched model without and with its scaling, as `eval --task passkey --methods none,model`.
    const pk = await runCliAsync(["eval", out, "--task", "passkey", "--context", "96", "--trials", "1", "--methods", "none,model", "--json"]);
    assert.equal(pk.code, 0, pk.stderr);
    const want = JSON.parse(pk.stdout) as PasskeyResult;
    assert.deepEqual(evaluation.passkey.results, want.results);
    assert.equal(want.results.length, 2);
    for (const [method, name] of [["none", "without RoPE scaling"], ["model", "yarn x2 (this model)"]]) {
      const cells = want.results.filter((x) => x.method === method).map((x) => `${(100 * x.accuracy).toFixed(0)}% (${x.trials.filter((t) => t.correct).length}/${x.trials.length})`);
      assert.deepEqual(rowOf(card, "Passkey retrieval", name), cells);
    }
    assert.match(card, /## Passkey retrieval\n\n.*: 1 prompt per context/);

    // Drift: the patched model against the source, as `eval --task drift --baseline <source>`.
    const dr = await runCliAsync(["eval", out, "--task", "drift", "--baseline", model, "--text", docs, "--context", "96", "--json"]);
    assert.equal(dr.code, 0, dr.stderr);
    const drift = JSON.parse(dr.stdout) as DriftResult;
    assert.deepEqual(evaluation.drift.results, drift.results);
    assert.deepEqual(rowOf(card, "Drift from the original", "mean KL (nats)"), drift.results.map((x) => x.kl.toFixed(6)));
    assert.deepEqual(rowOf(card, "Drift from the original", "top-1 agreement"), drift.results.map((x) => `${(100 * x.top1Agreement).toFixed(2)}%`));
    assert.ok(drift.results.every((x) => x.kl > 0 && x.top1Agreement < 1), "YaRN x2 moves the distributions below the original context too");
  });
}, { timeoutMs: 300_000 });

test("patch --eval-tasks: an unknown task or one without --eval is refused before anything is written", async () => {
  await withStandInHub(async (_hub, dir) => {
    const out = join(dir, "x");
    const bad = await runCliAsync(["patch", sharedPath("models/tiny-llama-py"), "--factor", "2", "--out", out, "--eval", sharedPath("data/eval-docs.json"), "--eval-tasks", "ppl,needle"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--eval-tasks: "needle" is not a task \(ppl, passkey, drift\)/);
    const alone = await runCliAsync(["patch", sharedPath("models/tiny-llama-py"), "--factor", "2", "--out", out, "--eval-tasks", "passkey"]);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--eval-tasks: needs --eval <file>/);
    assert.ok(!existsSync(out));
  });
});
