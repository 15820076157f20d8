// Every command writes through the CliIo seam: in-process runs give what the spawned CLI prints, the same exit
// codes, and an aborted signal ends a command with exit 130 and no output left behind.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../src/cli/main.ts";
import { buffers } from "./support/cli-io.ts";
import { runCli as spawnCli, repoRoot } from "./support/cli-run.ts";
import { sharedPath } from "./support/shared.ts";
import { test } from "./support/harness.ts";

const QWEN = join(repoRoot, "examples/qwen2.5-7b-instruct");

test("cli in-process: inspect, flags and a dry-run patch print what the spawned CLI prints", async () => {
  for (const args of [["inspect", QWEN, "--json"], ["flags", QWEN], ["patch", QWEN, "--factor", "4", "--dry-run"]]) {
    const b = buffers();
    const code = await runCli(args, b.io);
    const spawned = spawnCli(args);
    assert.equal(code, spawned.code, args.join(" "));
    assert.equal(b.out(), spawned.stdout, args.join(" "));
    assert.equal(b.err(), spawned.stderr, args.join(" "));
  }
});

test("cli in-process: errors are one line with the table's exit code", async () => {
  const cases: [string[], number, RegExp][] = [
    [["frobnicate"], 1, /^yarnify: unknown command "frobnicate" \(see yarnify --help\)\n$/],
    [["inspect", "/nonexistent/model"], 2, /^yarnify: \/nonexistent\/model: no such file or directory\n$/],
    [["patch", QWEN, "--factor", "0.5", "--dry-run"], 3, /^yarnify: .*factor must be greater than 1, got 0\.5\n$/],
    [["batch", "m.json", "--concurrency", "abc"], 1, /^yarnify: --concurrency: "abc" is not a whole number ≥ 1\n$/],
  ];
  for (const [args, code, message] of cases) {
    const b = buffers();
    assert.equal(await runCli(args, b.io), code, args.join(" "));
    assert.match(b.err(), message);
    assert.equal(b.out(), "");
  }
});

test("cli in-process: an aborted signal ends a GGUF patch with exit 130 and nothing at the output", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-abort-"));
  try {
    const out = join(dir, "tiny-yarn.gguf");
    const controller = new AbortController();
    controller.abort();
    const b = buffers(controller.signal);
    const code = await runCli(["patch", sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"), "--factor", "4", "--out", out], b.io);
    assert.equal(code, 130);
    assert.match(b.err(), /^yarnify: interrupted; temporary outputs removed\n$/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
