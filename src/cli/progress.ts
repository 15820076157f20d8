// The GGUF copy's progress bar: one redrawn line on a terminal, nothing otherwise (pipes, --json).
import { progressText } from "../../converters/gguf/events.ts";
import type { PatchProgressEvent } from "../core/converter.ts";
import type { CliIo } from "./io.ts";

export function progressBar(io: CliIo, enabled: boolean): ((e: PatchProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  let started = Date.now();
  let phase = "";
  return (e) => {
    if (e.event === "phase" || e.phase !== phase) {
      phase = e.phase;
      started = Date.now();
    }
    if (e.event === "progress") {
      io.stderr(`\r\x1b[K${progressText(e as Extract<PatchProgressEvent, { event: "progress" }> & { phase: "write" | "verify" }, started, Date.now())}`);
      if (e.bytes >= e.total) io.stderr("\n");
    }
  };
}

/** What evalProgressText needs of an EvalProgressEvent (kept structural so the CLI loads the evaluator lazily). */
export interface EvalProgress {
  method: string;
  context: number;
  tokens: number;
  totalTokens: number;
}

/**
 * One line of `eval` progress: method and context, tokens done of total, rate and ETA from when this method and
 * context started (the rate of one pass says nothing about the next: attention's cost grows with the context).
 *
 * @example
 * evalProgressText({ method: "yarn", context: 4096, tokens: 8192, totalTokens: 98304 }, 0, 16_000);
 * // "yarn @4096    8%  8192 / 98304 tokens  512 tok/s  ETA 176s"
 */
export function evalProgressText(e: EvalProgress, passStartedMs: number, nowMs: number): string {
  const secs = Math.max(1e-3, (nowMs - passStartedMs) / 1000);
  const rate = e.tokens / secs;
  const eta = rate > 0 ? Math.ceil((e.totalTokens - e.tokens) / rate) : 0;
  const pct = e.totalTokens > 0 ? Math.floor((e.tokens / e.totalTokens) * 100) : 100;
  return `${e.method} @${e.context}  ${String(pct).padStart(3)}%  ${e.tokens} / ${e.totalTokens} tokens  ${Math.round(rate)} tok/s  ETA ${eta}s`;
}

/**
 * `eval`'s progress: one redrawn stderr line per forward pass on a terminal, ended with a newline when a method and
 * context is done; undefined (nothing printed) when not enabled (stderr not a TTY, or --json).
 *
 * @example
 * const r = await evaluate(params, evalProgressLine(io, io.isTTY && !o.json));
 */
export function evalProgressLine(io: CliIo, enabled: boolean): ((e: EvalProgress) => void) | undefined {
  if (!enabled) return undefined;
  let started = Date.now();
  return (e) => {
    // The evaluator announces each method and context with a zero event: the clock for its rate starts there.
    if (e.tokens === 0) started = Date.now();
    io.stderr(`\r\x1b[K${evalProgressText(e, started, Date.now())}`);
    if (e.tokens >= e.totalTokens) io.stderr("\n");
  };
}
