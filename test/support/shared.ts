// Locates ../shared (the fixtures beside the checkout) from the test files, built or not.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function findShared(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "..", "shared");
    if (existsSync(join(candidate, "reference"))) return resolve(candidate);
    dir = dirname(dir);
  }
  throw new Error("../shared not found beside the checkout");
}

const shared = process.env.YARNIFY_SHARED ?? findShared();

export function sharedPath(rel: string): string {
  return join(shared, rel);
}
