// Builds the page (web/) into web/dist/: index.html and one browser bundle of web/main.ts with everything it imports
// (src/browser.ts and @huggingface/gguf), static files any web server can host. Run with Bun (`npm run build:web`).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("../web/", import.meta.url));
const outdir = `${web}dist`;
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await Bun.build({
  entrypoints: [`${web}main.ts`],
  outdir,
  target: "browser",
  format: "esm",
  minify: true,
  // kernels/gpu.ts loads Dawn only where navigator.gpu is absent (Node, Bun); the page checks for navigator.gpu first.
  external: ["webgpu"],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
copyFileSync(`${web}index.html`, `${outdir}/index.html`);
