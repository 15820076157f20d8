// The one output seam every command writes through: the process's streams in the CLI, buffers in tests, so each
// command runs in-process as well as spawned.
import type { Env } from "../hub/hub-params.ts";

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress redraws one line). */
  isTTY: boolean;
  /** The environment hub options fall back to (HF_TOKEN, HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE); the process's by default. */
  env?: Env;
  /** Aborted on Ctrl-C (and SIGTERM, SIGHUP) by the process entry. */
  abortSignal?: AbortSignal;
}

/** Writes one or more lines (a trailing newline added where missing). */
export function print(io: CliIo, text: string): void {
  io.stdout(text.endsWith("\n") ? text : text + "\n");
}

/** Each line on stderr as "warning: …". */
export function warn(io: CliIo, lines: readonly string[]): void {
  for (const l of lines) io.stderr(`warning: ${l}\n`);
}

/** The JSON a `--json` command prints: one object, indented. */
export function printJson(io: CliIo, value: unknown): void {
  print(io, JSON.stringify(value, null, 2));
}
