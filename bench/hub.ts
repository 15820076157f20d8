// What the hub layer transfers, against the stand-in hub on 127.0.0.1, for a GGUF-sized file of incompressible
// bytes (as quantized weights are):
//   full download  vs  reading a 1 MiB header with Range requests (what planning a remote GGUF needs);
//   publishing a patched header as a pull request on the same repo (publishPatchedGguf, what `yarnify patch
//   org/x-GGUF/f.gguf --pr` runs) through plain LFS (the spliced file is uploaded whole) and through xet (the
//   stand-in CAS: only the chunks that changed), with the bytes each downloads and uploads.
// With `--gguf FILE`, also `yarnify patch org/x-GGUF/FILE --factor 4 --pr` itself (the real header patcher) over xet.
// Run: node dist/bench/hub.js [MiB] [--gguf FILE] | bun bench/hub.ts ... | deno run -A bench/hub.ts ...
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StandInHub } from "../test/support/hub-server.ts";
import { downloadToCache } from "../src/hub/download-to-cache.ts";
import { blobRangeReader, openHubFile } from "../src/hub/open-hub-file.ts";
import { publishPatchedGguf } from "../src/hub/publish-gguf.ts";
import { patchHubSource } from "../src/cli/hub.ts";
import { plan } from "../src/core/plan.ts";
import { seededRandom } from "../src/core/random.ts";
import { runtimeName } from "../src/core/runtime.ts";

const args = process.argv.slice(2);
const ggufAt = args.indexOf("--gguf");
const realGguf = ggufAt >= 0 ? args.splice(ggufAt, 2)[1] : undefined;
const mib = Number(args[0] ?? 64);
const size = mib * 1024 * 1024;
const file = new Uint8Array(size);
const random = seededRandom(1);
for (let i = 0; i < size; i += 4) new DataView(file.buffer).setUint32(i, random() * 2 ** 32, true);
file.set(new TextEncoder().encode("GGUF"), 0);
const HEADER = 1024 * 1024; // a real model's header (vocabulary included) is a few MiB at most
const PLAN = plan({ theta: 10000, headDim: 128, rotaryDim: 128, context: 8192, scaling: { method: "none" } }, { factor: 4 });

/** A stand-in hub holding `content` as me/bench-GGUF/m.gguf, and a fresh cache; both gone afterwards. */
async function withHub<T>(xet: boolean, fn: (hub: StandInHub, common: { hubUrl: string; accessToken: string; cacheDir: string }, commit: string) => Promise<T>, content = file): Promise<T> {
  const hub = new StandInHub({ xet });
  await hub.start();
  const commit = hub.addRepo("me/bench-GGUF", { "m.gguf": content });
  const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-bench-"));
  try {
    return await fn(hub, { hubUrl: hub.url, accessToken: "hf_test_writer", cacheDir }, commit);
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const bytesOf = (hub: StandInHub, from: number, where: (path: string) => boolean) =>
  hub.requests.slice(from).filter((r) => where(r.path)).reduce((s, r) => s + r.bytes, 0);

/** A header 64 bytes longer with its first KiB changed (new keys), published as a PR: bytes down, up, time. */
async function publishEdit(xet: boolean): Promise<{ down: number; up: number; ms: number; chunks?: number }> {
  return withHub(xet, async (hub, common, commit) => {
    const header = new Uint8Array(HEADER + 64);
    header.set(file.subarray(0, HEADER), 64);
    header.set(file.subarray(0, 1024).map((b) => b ^ 0xff), 0);
    const t = performance.now();
    await publishPatchedGguf({ ...common, source: { repo: "me/bench-GGUF", commit }, files: [{ path: "m.gguf", header, replaces: HEADER }], plan: PLAN, pr: true });
    const ms = performance.now() - t;
    const down = bytesOf(hub, 0, (p) => p.includes("/resolve/"));
    const up = bytesOf(hub, 0, (p) => p.startsWith("/_lfs/") || p.startsWith("/cas/v1/xorbs/") || p.startsWith("/cas/v1/shards"));
    const chunks = hub.cas?.uploads.reduce((n, u) => n + (u.unpackedBytes ?? 0), 0);
    return { down, up, ms, ...(chunks !== undefined && { chunks }) };
  });
}

const { fullBytes, fullMs, headBytes, headMs } = await withHub(false, async (hub, common) => {
  let t = performance.now();
  await downloadToCache({ ...common, repo: "me/bench-GGUF", paths: ["m.gguf"] });
  const fullMs = performance.now() - t;
  const fullBytes = bytesOf(hub, 0, () => true);
  const mark = hub.requests.length;
  t = performance.now();
  const blob = await openHubFile({ ...common, repo: "me/bench-GGUF", path: "m.gguf" });
  await blobRangeReader(blob)(0, HEADER);
  return { fullBytes, fullMs, headBytes: bytesOf(hub, mark, () => true), headMs: performance.now() - t };
});
const lfs = await publishEdit(false);
const xet = await publishEdit(true);

console.log(`runtime ${runtimeName()}, file ${mib} MiB of random bytes, stand-in hub on 127.0.0.1`);
console.log(`full download:          ${fullBytes} bytes, ${fullMs.toFixed(0)} ms`);
console.log(`1 MiB header by Range:  ${headBytes} bytes, ${headMs.toFixed(0)} ms  (bytes ratio ${(fullBytes / headBytes).toFixed(1)}x less, time ratio ${(fullMs / headMs).toFixed(1)}x)`);
console.log(`header edit as a PR, basic LFS: ${lfs.down} bytes down, ${lfs.up} bytes up (${(lfs.up / size).toFixed(3)} of the file), ${lfs.ms.toFixed(0)} ms`);
console.log(
  `header edit as a PR, xet:       ${xet.down} bytes down, ${xet.up} bytes up (${(xet.up / size).toFixed(4)} of the file; ${xet.chunks} bytes of new chunks), ${xet.ms.toFixed(0)} ms` +
    `  (upload ratio ${(lfs.up / xet.up).toFixed(0)}x less)`,
);

if (realGguf) {
  const original = new Uint8Array(readFileSync(realGguf));
  await withHub(
    true,
    async (hub, { cacheDir }) => {
      const out: string[] = [];
      const io = { stdout: (s: string) => void out.push(s), stderr: () => undefined, isTTY: false, env: { HF_TOKEN: "hf_test_writer", HF_ENDPOINT: hub.url } };
      const code = await patchHubSource("me/bench-GGUF/m.gguf", { factor: 4 }, { pr: true, json: true, cacheDir }, io);
      if (code !== 0) throw new Error(`yarnify patch exited with ${code}`);
      const { before, after } = JSON.parse(out.join("")).files[0].headerBytes as { before: number; after: number };
      const up = bytesOf(hub, 0, (p) => p.startsWith("/cas/v1/xorbs/") || p.startsWith("/cas/v1/shards"));
      const chunks = hub.cas!.uploads.reduce((n, u) => n + (u.unpackedBytes ?? 0), 0);
      console.log(
        `yarnify patch ${realGguf} (${original.length} bytes) --factor 4 --pr over xet: header ${before} -> ${after} bytes; ` +
          `${bytesOf(hub, 0, (p) => p.includes("/resolve/"))} bytes down, ${up} bytes up (${chunks} bytes of new chunks)`,
      );
    },
    original,
  );
}
