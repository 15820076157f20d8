// An output seam that keeps what a command prints, for running the CLI in-process (src/cli/main.ts runCli).
import type { CliIo } from "../../src/cli/io.ts";
import type { Env } from "../../src/hub/hub-params.ts";

export interface BufferedIo {
  io: CliIo;
  out: () => string;
  err: () => string;
}

/** A CliIo writing into buffers; `env` replaces the process environment the command reads. */
export function buffers(abortSignal?: AbortSignal, env?: Env): BufferedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), isTTY: false, ...(abortSignal && { abortSignal }), ...(env && { env }) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}
