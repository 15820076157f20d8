// `eval`'s progress line: the text (tokens done of total, rate, ETA) and that a terminal gets it on stderr while
// --json, like a pipe, gets nothing but the JSON.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../src/cli/main.ts";
import { evalProgressText } from "../src/cli/progress.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

test("eval progress text: percent, tokens done of total, rate and ETA from the pass's start", () => {
  assert.equal(evalProgressText({ method: "yarn", context: 4096, tokens: 8192, totalTokens: 98304 }, 0, 16_000), "yarn @4096    8%  8192 / 98304 tokens  512 tok/s  ETA 176s");
  assert.equal(evalProgressText({ method: "none", context: 256, tokens: 768, totalTokens: 768 }, 1000, 3000), "none @256  100%  768 / 768 tokens  384 tok/s  ETA 0s");
  assert.equal(evalProgressText({ method: "pi", context: 512, tokens: 0, totalTokens: 1024 }, 5000, 5000), "pi @512    0%  0 / 1024 tokens  0 tok/s  ETA 0s");
});

test("eval on a terminal redraws one progress line per pass on stderr; --json and a pipe print nothing extra", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-eval-progress-"));
  try {
    const docs = JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] };
    const textFile = join(dir, "docs.jsonl");
    writeFileSync(textFile, docs.docs.slice(0, 2).map((d) => JSON.stringify({ text: d.text })).join("\n") + "\n");
    const run = async (isTTY: boolean, extra: string[]) => {
      let stdout = "", stderr = "";
      const code = await runCli(["eval", sharedPath("models/tiny-llama-py"), "--text", textFile, "--context", "64,96", "--methods", "none,yarn", "--factor", "2", "--device", "cpu", "--plot", join(dir, "p.svg"), ...extra], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), isTTY });
      return { code, stdout, stderr };
    };
    const tty = await run(true, []);
    assert.equal(tty.code, 0, tty.stderr);
    // Four passes (two methods × two contexts; --factor 2 so YaRN is not the unscaled run, which would be shared), each announced, advanced per document, and closed with a newline.
    const lines = tty.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 4, tty.stderr);
    for (const [i, pass] of ["none @64", "yarn @64", "none @96", "yarn @96"].entries()) {
      const redraws = lines[i]!.split("\r\x1b[K").filter((r) => r !== "");
      assert.deepEqual(redraws.map((r) => /^(\S+ @\d+)\s+(\d+)%  (\d+) \/ (\d+) tokens  \d+ tok\/s  ETA \d+s$/.exec(r)?.slice(1, 5).join(" ")), [0, 50, 100].map((p, k) => {
        const context = Number(pass.split("@")[1]);
        return `${pass} ${p} ${k * context} ${2 * context}`;
      }), lines[i]);
    }
    assert.match(tty.stdout, /device: cpu/);
    const json = await run(true, ["--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, "");
    assert.equal((JSON.parse(json.stdout) as { results: unknown[] }).results.length, 4);
    const pipe = await run(false, []);
    assert.equal(pipe.code, 0, pipe.stderr);
    assert.equal(pipe.stderr, "");
    assert.equal(pipe.stdout, tty.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
