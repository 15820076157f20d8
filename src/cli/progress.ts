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
