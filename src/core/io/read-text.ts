// Reads a small text file (config.json, genai_config.json, tokenizer_config.json) safely: only a regular file (a FIFO
// would block forever, /dev/zero would never end), and only up to a size cap, checked before reading.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { ModelFormatError } from "../errors.ts";
import { MAX_CONFIG_BYTES } from "../hf-config/json-text.ts";

export { MAX_CONFIG_BYTES } from "../hf-config/json-text.ts";

const MIB = 1024 * 1024;

/**
 * The UTF-8 text of `file`, or a ModelFormatError naming it: missing, not a regular file, or over `cap` bytes.
 * `missing` is the problem to report when the file does not exist.
 */
export function readTextCapped(file: string, opts: { cap?: number; missing?: string } = {}): string {
  const cap = opts.cap ?? MAX_CONFIG_BYTES;
  const capText = cap % MIB === 0 ? `${cap / MIB} MiB` : `${cap} bytes`;
  const refuse = (problem: string) => new ModelFormatError(file, problem);
  const notRegular = () => refuse("not a regular file (a FIFO, device or socket): only regular files are read");
  let fd: number;
  try {
    // stat first: opening a FIFO for reading blocks until a writer comes.
    if (!statSync(file).isFile()) throw notRegular();
    fd = openSync(file, "r");
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw refuse(opts.missing ?? "not found");
    if (code === "EISDIR") throw notRegular();
    throw refuse(`cannot read: ${code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular();
    if (st.size > cap) throw refuse(`${st.size} bytes is larger than the ${capText} a config file may have; not a config file`);
    // One byte more than the size said: a file that grows while it is read is noticed, and never read past the cap.
    const buf = new Uint8Array(st.size + 1);
    let have = 0;
    while (have < buf.length) {
      const n = readSync(fd, buf, have, buf.length - have, have);
      if (n === 0) break;
      have += n;
    }
    if (have > st.size) throw refuse("changed while it was read");
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf.subarray(0, have));
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    throw refuse(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
