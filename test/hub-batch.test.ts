// `yarnify batch` with the hub runner against the stand-in: HF items (push and pr), a GGUF item through an
// injected header patcher, an item that fails, per-item reports and resume.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { parseManifest } from "../src/batch/manifest.ts";
import { batchExitCode, runBatch } from "../src/batch/run-batch.ts";
import { createHubBatchRunner, itemPlanTarget } from "../src/hub/batch-runner.ts";
import { fakeGgufPatcher } from "./support/hub-fake-gguf.ts";
import { TINY_CONFIG } from "./support/batch-fixtures.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";

const CONFIG = TINY_CONFIG;

test("item options become plan knobs", () => {
  const [item] = parseManifest(JSON.stringify([{ source: "a/b", context: 8192, options: { method: "yarn", betaFast: 16, truncate: false } }])).items;
  assert.deepEqual(itemPlanTarget(item), { context: 8192, method: "yarn", betaFast: 16, truncate: false });
});

test("batch over the stand-in hub: HF push, HF pr, GGUF push, one failure; resume finishes", async () => {
  const hub = new StandInHub();
  await hub.start();
  const dir = mkdtempSync(join(tmpdir(), "yarnify-hubbatch-"));
  try {
    hub.addRepo("org/a", { "config.json": CONFIG, "model.safetensors": new Uint8Array(5000).fill(2) });
    hub.addRepo("other/b", { "config.json": CONFIG });
    const g = new Uint8Array(4000).fill(7);
    g.set(new TextEncoder().encode("GGUF"), 0);
    hub.addRepo("org/c-GGUF", { "c.gguf": g });
    const manifest = parseManifest(
      JSON.stringify({
        defaults: { factor: 4 },
        items: [
          { id: "a", source: "org/a", push: "me/a-8k", private: true },
          { id: "b", source: "other/b", pr: true },
          { id: "c", source: "org/c-GGUF/c.gguf", push: "me/c-8k-GGUF" },
          { id: "d", source: "org/missing", push: "me/d" },
        ],
      }),
    );
    const runItem = createHubBatchRunner({ hubUrl: hub.url, accessToken: "hf_test_writer", fetch: createRetryFetch({ retries: 1, sleep: async () => undefined }), cacheDir: join(dir, "cache"), patchGgufHeader: fakeGgufPatcher });
    const params = { items: manifest.items, runItem, concurrency: 2, statePath: join(dir, "state.jsonl"), reportDir: join(dir, "reports") };
    const first = await runBatch(params);
    assert.deepEqual(first.reports.map((r) => [r.id, r.status]), [["a", "done"], ["b", "done"], ["c", "done"], ["d", "failed"]]);
    assert.equal(batchExitCode(first), 1);
    const a = JSON.parse(readFileSync(join(dir, "reports", "a.json"), "utf8"));
    assert.equal(a.result.context, 8192);
    assert.equal(a.result.commitOid, hub.commits.find((c) => c.repo === "me/a-8k")!.oid);
    assert.equal(hub.repos.get("me/a-8k")?.private, true);
    const b = JSON.parse(readFileSync(join(dir, "reports", "b.json"), "utf8"));
    assert.equal(b.result.pullRequestUrl, `${hub.url}/other/b/discussions/1`);
    const c = JSON.parse(readFileSync(join(dir, "reports", "c.json"), "utf8"));
    assert.deepEqual(c.result.files, [{ path: "c.gguf", headerBytes: { before: 64, after: 96 } }]);
    const stored = hub.file("me/c-8k-GGUF", "c.gguf")!;
    assert.equal(stored.length, 4032);
    const d = JSON.parse(readFileSync(join(dir, "reports", "d.json"), "utf8"));
    assert.match(d.error, /org\/missing.*HTTP 401/);
    // The missing repo appears; the rerun does only that item.
    hub.addRepo("org/missing", { "config.json": CONFIG });
    const before = hub.commits.length;
    const second = await runBatch(params);
    assert.deepEqual([second.done, second.skipped, second.failed], [1, 3, 0]);
    assert.equal(hub.commits.length, before + 1);
    assert.equal(batchExitCode(second), 0);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
