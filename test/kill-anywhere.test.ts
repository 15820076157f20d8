// Issue 16 item 7, "kill anywhere": a GGUF patch of a 256 MiB file, on the runtime running the tests, killed with
// SIGINT, SIGTERM, SIGHUP and SIGKILL at seeded random moments from start-up to the rename, and once mid-write. Whatever the moment: the final
// name is absent or complete (byte for byte the output of an uninterrupted run, whose header re-parses with the
// planned keys), the source is byte-identical, and a catchable signal leaves no temporary or lock; after SIGKILL the
// next run removes what it left, naming each, and then writes the output (or finds it complete).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openLocalSource } from "../converters/gguf/source.ts";
import { readGgufHeader } from "../converters/gguf/read.ts";
import { seededRandom } from "../src/core/random.ts";
import { runCliAsync, spawnCli } from "./support/cli-run.ts";
import { LLAMA_KV, writeBigGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";

const KILLS_PER_SIGNAL = 4;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"] as const;
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

test("kill anywhere: SIGINT, SIGTERM, SIGHUP and SIGKILL at random moments of a GGUF patch never leave a partial output or touch the source", async () => {
  const root = mkdtempSync(join(tmpdir(), "yarnify-kill-"));
  try {
    const source = join(root, "src", "m.gguf");
    mkdirSync(join(root, "src"));
    await writeBigGguf(source, 256 * 1024 * 1024, LLAMA_KV);
    const sourceHash = sha(source);
    const outDir = join(root, "out");
    mkdirSync(outDir);
    const out = join(outDir, "x.gguf");
    const args = ["patch", source, "--factor", "4", "--out", out];

    // Uninterrupted runs: the bytes a complete output has, and how long a patch takes here (the second run: the
    // first one also fills the runtime's caches).
    const whole = await runCliAsync(args);
    assert.equal(whole.code, 0, whole.stderr);
    const complete = sha(out);
    rmSync(out);
    const started = Date.now();
    assert.equal((await runCliAsync(args)).code, 0);
    const duration = Date.now() - started;
    const parsed = await openLocalSource(out).then(async (s) => {
      try {
        return await readGgufHeader(s);
      } finally {
        await s.close();
      }
    });
    assert.equal(parsed.metadata["llama.context_length"]?.value, 16384);
    assert.equal(parsed.metadata["llama.rope.scaling.type"]?.value, "yarn");
    rmSync(out);

    const random = seededRandom(16);
    const seen = { absent: 0, complete: 0, leftovers: 0 };
    for (const signal of SIGNALS) {
      // One moment in each quarter of the run (and a little past its end), placed at random within it; then once more
      // as soon as the temporary output exists, so that every signal meets a write in progress at least once.
      for (let k = 0; k <= KILLS_PER_SIGNAL; k++) {
        const writing = k === KILLS_PER_SIGNAL;
        const delay = Math.round(((k + random()) / KILLS_PER_SIGNAL) * duration * 1.1);
        const where = `${signal} ${writing ? "while writing" : `after ${delay} ms`} (an uninterrupted patch took ${duration} ms)`;
        const child = spawnCli(args);
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
        if (writing) {
          while (child.exitCode === null && !readdirSync(outDir).some((n) => n.endsWith(".tmp"))) await sleep(2);
        } else await sleep(delay);
        child.kill(signal);
        await exited;
        const left = readdirSync(outDir).filter((n) => n !== "x.gguf");
        const finished = readdirSync(outDir).includes("x.gguf");
        if (finished) assert.equal(sha(out), complete, `${where}: the output at the final name is complete`);
        if (signal !== "SIGKILL") assert.deepEqual(left, [], `${where}: nothing left (${stderr.trim()})`);
        if (signal === "SIGKILL" && writing) assert.ok(left.length > 0 && !finished, `${where}: a write in progress was cut short`);
        if (signal === "SIGKILL" && left.length > 0) {
          seen.leftovers++;
          for (const n of left) assert.match(n, /^\.x\.gguf\.yarnify-(\d+-[0-9a-f]+\.tmp|lock)$/, where);
          // The next run removes what the killed one left, naming each, then writes the output or finds it there.
          const next = await runCliAsync(args);
          assert.equal(next.code, finished ? 4 : 0, `${where}, then a rerun: ${next.stderr}`);
          for (const n of left) assert.ok(next.stderr.includes(`yarnify: removed ${join(outDir, n)}, left by a yarnify run that was killed`), `${where}: ${next.stderr}`);
          assert.deepEqual(readdirSync(outDir), ["x.gguf"], where);
          assert.equal(sha(out), complete, `${where}, then a rerun`);
        }
        if (finished) seen.complete++;
        else seen.absent++;
        rmSync(out, { force: true });
      }
    }
    assert.equal(sha(source), sourceHash, "the source is byte-identical");
    assert.deepEqual(readdirSync(join(root, "src")), ["m.gguf"]);
    console.log(`     ${SIGNALS.length * (KILLS_PER_SIGNAL + 1)} kills: output absent ${seen.absent}, complete ${seen.complete}; SIGKILL leftovers removed by the next run ${seen.leftovers} times`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 180_000 });
