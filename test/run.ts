// Runs every test/*.test.ts on the current runtime and ends with "<runtime>: N passed, N failed".
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { registeredTests } from "./support/harness.ts";
import { runtimeName } from "../src/core/runtime.ts";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((f) => /\.test\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
  .filter((f) => !filter || f.includes(filter))
  .sort();

let passed = 0;
let failed = 0;
for (const file of files) {
  const before = registeredTests().length;
  await import(pathToFileURL(join(here, file)).href);
  for (const t of registeredTests().slice(before)) {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(t.fn),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs);
        }),
      ]);
      passed++;
      console.log(`ok   ${file} › ${t.name} (${Math.round(performance.now() - started)} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${file} › ${t.name}`);
      console.log(String((err as Error)?.stack ?? err).split("\n").map((l) => "     " + l).join("\n"));
    } finally {
      clearTimeout(timer);
    }
  }
}
console.log(`${runtimeName()}: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
