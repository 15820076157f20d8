// Whether a path is a GGUF model: kept apart from the converter so choosing a format loads no GGUF parser.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { isUrl } from "./byte-source.ts";
import { GGUF_MAGIC } from "./header-extent.ts";


function hasGgufMagic(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === GGUF_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** A .gguf path or URL, or a local file that starts with the GGUF magic. */
export function isGgufPath(path: string): boolean {
  return /\.gguf$/i.test(isUrl(path) ? new URL(path).pathname : path) || hasGgufMagic(path);
}
