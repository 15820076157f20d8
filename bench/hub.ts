// What the hub layer transfers, against the stand-in hub on 127.0.0.1, for a GGUF-sized file:
//   full download  vs  reading a 1 MiB header with Range requests (what planning a remote GGUF needs);
//   publishing a header edit to the same repo (the stand-in offers basic LFS only, no xet, so the spliced file
//   is uploaded whole: this measures that cost, which xet on the real hub reduces to the changed chunks).
// Run: node dist/bench/hub.js [MiB] | bun bench/hub.ts [MiB] | deno run -A bench/hub.ts [MiB]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StandInHub } from "../test/hub-server.ts";
import { downloadToCache } from "../src/hub/download-to-cache.ts";
import { blobRangeReader, openHubFile } from "../src/hub/open-hub-file.ts";
import { publish } from "../src/hub/publish.ts";
import { ggufHeaderEdit } from "../src/hub/publish-operations.ts";
import { runtimeName } from "../src/runtime.ts";

const mib = Number(process.argv[2] ?? 64);
const size = mib * 1024 * 1024;
const file = new Uint8Array(size);
for (let i = 0; i < size; i += 4096) file[i] = i & 0xff;
file.set(new TextEncoder().encode("GGUF"), 0);

const hub = new StandInHub();
await hub.start();
hub.addRepo("me/bench-GGUF", { "m.gguf": file });
const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-bench-"));
const common = { hubUrl: hub.url, accessToken: "hf_test_writer" };
const sent = (from: number) => hub.requests.slice(from).reduce((s, r) => s + r.bytes, 0);
try {
  let mark = hub.requests.length;
  let t = performance.now();
  await downloadToCache({ ...common, repo: "me/bench-GGUF", paths: ["m.gguf"], cacheDir });
  const fullMs = performance.now() - t;
  const fullBytes = sent(mark);

  mark = hub.requests.length;
  t = performance.now();
  const blob = await openHubFile({ ...common, repo: "me/bench-GGUF", path: "m.gguf" });
  const head = await blobRangeReader(blob)(0, 1024 * 1024);
  const headMs = performance.now() - t;
  const headBytes = sent(mark);

  const header = head.slice(0, 4096);
  header[100] ^= 0xff; // a changed header: a new file content
  mark = hub.lfsUploads.length;
  t = performance.now();
  await publish({ ...common, repo: "me/bench-GGUF", operations: [ggufHeaderEdit({ path: "m.gguf", original: blob, header, replaces: 4096 })], title: "bench" });
  const editMs = performance.now() - t;
  const uploaded = hub.lfsUploads.slice(mark).reduce((s, u) => s + u.bytesReceived, 0);

  console.log(`runtime ${runtimeName()}, file ${mib} MiB, stand-in hub on 127.0.0.1`);
  console.log(`full download:          ${fullBytes} bytes, ${fullMs.toFixed(0)} ms`);
  console.log(`1 MiB header by Range:  ${headBytes} bytes, ${headMs.toFixed(0)} ms  (bytes ratio ${(fullBytes / headBytes).toFixed(1)}x less, time ratio ${(fullMs / headMs).toFixed(1)}x)`);
  console.log(`header edit, basic LFS: ${uploaded} bytes uploaded (${(uploaded / size).toFixed(3)} of the file), ${editMs.toFixed(0)} ms`);
} finally {
  await hub.close();
  rmSync(cacheDir, { recursive: true, force: true });
}
