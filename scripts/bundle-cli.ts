// Bundles Node's `yarnify` (bin/yarnify.cjs loads dist/cli/cli.js): one file per lazily loaded part instead of ~130
// modules, which Node resolves and links one by one at every start (about 45 ms of a GGUF patch on the lent 16-core
// machine, bench/gguf.ts). The pure-JS packages a GGUF patch loads go in with our code; every other dependency stays
// an import of the installed package (native code, WebAssembly, or only loaded by other commands).
// Run with Bun (`npm run build` does): bun scripts/bundle-cli.ts
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pkg from "../package.json" with { type: "json" };

const BUNDLED = ["@huggingface/gguf", "cac"];
const outdir = fileURLToPath(new URL("../dist/cli/", import.meta.url));
rmSync(outdir, { recursive: true, force: true });
const result = await Bun.build({
  entrypoints: [fileURLToPath(new URL("../src/cli.ts", import.meta.url))],
  outdir,
  target: "node",
  format: "esm",
  splitting: true,
  external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.includes(d)),
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
