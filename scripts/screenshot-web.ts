// Takes the README's screenshot of the page (docs/web-page.png): the page from web/dist and the tiny model served by
// the yarnify web server, opened in headless Chromium at ×8. Run with Bun after `npm run build:web`:
//   bun scripts/screenshot-web.ts [model.gguf] [out.png]
import { writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startWebServer } from "../src/web-server.ts";
import { findChromium, launchChromium } from "../test/support/chromium.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const model = resolve(process.argv[2] ?? `${root}/../shared/models/tiny-llama-py/tiny-llama-f16.gguf`);
const out = resolve(process.argv[3] ?? `${root}/docs/web-page.png`);
const server = await startWebServer({ dirs: { "/": `${root}/web/dist`, "/model/": dirname(model) } });
const browser = await launchChromium(findChromium()!);
try {
  const page = await browser.open("about:blank");
  await page.send("Emulation.setDeviceMetricsOverride", { width: 1080, height: 1180, deviceScaleFactor: 1, mobile: false });
  await page.send("Page.navigate", { url: `${server.url}index.html?source=${encodeURIComponent(`${server.url}model/${basename(model)}`)}` });
  await page.waitFor(`document.readyState === "complete" && document.getElementById("factor") && !document.getElementById("download").disabled`, "the plan");
  await page.evaluate(`(() => { const f = document.getElementById("factor"); f.value = "8"; f.dispatchEvent(new Event("input")); })()`);
  await page.waitFor(`document.getElementById("ramp-svg")`, "the ramp");
  const { data } = (await page.send("Page.captureScreenshot", { format: "png" })) as { data: string };
  writeFileSync(out, Buffer.from(data, "base64"));
  console.log(out);
} finally {
  await browser.close();
  await server.close();
}
