// The resume state of a batch: an append-only JSON-lines file, one line per finished item. Appending a short
// line is all-or-nothing in practice, and a torn last line (a kill mid-write) is ignored on reading.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export interface StateEntry {
  id: string;
  status: "done" | "failed";
  finishedAt: string;
}

/**
 * The last recorded outcome of each item id in a state file (none when it does not exist; unreadable lines are skipped).
 *
 * @example
 * const done = [...readState("batch.state.jsonl").values()].filter((e) => e.status === "done");
 */
export function readState(path: string): Map<string, StateEntry> {
  const out = new Map<string, StateEntry>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const e = JSON.parse(line) as StateEntry;
      if (typeof e.id === "string" && (e.status === "done" || e.status === "failed")) out.set(e.id, e);
    } catch {
      // torn line from an interrupted write: that item simply runs again
    }
  }
  return out;
}

/**
 * Records an item's outcome as one JSON line (appended, so a crash loses at most the line being written).
 *
 * @example
 * appendState("batch.state.jsonl", { id: item.id, status: "done", finishedAt: new Date().toISOString() });
 */
export function appendState(path: string, entry: StateEntry): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, JSON.stringify(entry) + "\n");
}
