// Reads bytes [begin, end) of a file so that a large checkpoint is never held whole in memory.
import { closeSync, openSync, readSync } from "node:fs";
import { SafetensorsError } from "./safetensors-error.ts";

/** `short` makes the error for a file that ends early (default: a SafetensorsError). */
export function readRange(file: string, begin: number, end: number, short: (at: number) => Error = (at) => new SafetensorsError(file, `unexpected end of file at byte ${at}`)): Uint8Array {
  const out = new Uint8Array(end - begin);
  const fd = openSync(file, "r");
  try {
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, begin + done);
      if (n === 0) throw short(begin + done);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
