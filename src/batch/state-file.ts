// The resume state of a batch: an append-only JSON-lines file, one line per finished item. Appending a short
// line is all-or-nothing in practice, and a torn last line (a kill mid-write) is ignored on reading. Anything
// else that is not a state line is refused: read as "nothing done", it would publish every item again.
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { OutputError, YarnifyError } from "../core/errors.ts";

export interface StateEntry {
  id: string;
  status: "done" | "failed";
  finishedAt: string;
}

/** A state file that cannot be read, or holds something else than state lines (exit 1). */
export class StateFileError extends YarnifyError {
  override name = "StateFileError";
}

const RESET = "delete it to start the batch over, or pass --state <another file>";
// Every line appendState writes starts so: a torn last line is a prefix of one, or starts with it.
const LINE_START = '{"id":';

function isEntry(v: unknown): v is StateEntry {
  const e = v as Partial<StateEntry> | null;
  return typeof e === "object" && e !== null && typeof e.id === "string" && (e.status === "done" || e.status === "failed") && typeof e.finishedAt === "string";
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String((err as Error).message ?? err).split("\n")[0];
}

/**
 * The entries of a state file by item id (none when the file does not exist). Refuses a file holding anything
 * but state lines, naming it and saying how to start over.
 *
 * @example
 * const done = [...readState("patches.json.state.jsonl").values()].filter((e) => e.status === "done");
 */
export function readState(path: string): Map<string, StateEntry> {
  const out = new Map<string, StateEntry>();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (code(err) === "ENOENT") return out;
    throw new StateFileError(path, `the batch state file cannot be read (${code(err)}): ${RESET}`);
  }
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      // The last line has no newline after it when a kill cut its write short: that item simply runs again.
      const torn = i === lines.length - 1 && (line.startsWith(LINE_START) || LINE_START.startsWith(line));
      if (torn) return;
    }
    if (!isEntry(entry)) throw new StateFileError(path, `not a batch state file (line ${i + 1} is not a state line): ${RESET}`);
    out.set(entry.id, entry);
  });
  return out;
}

/**
 * The entries of a state file that the run can also write: checked (created if missing) before the first item,
 * so a state that cannot be kept is found before anything is published.
 *
 * @example
 * const state = openState("patches.json.state.jsonl"); // OutputError (exit 4) for a read-only file
 */
export function openState(path: string): Map<string, StateEntry> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, "a"));
  } catch (err) {
    throw new OutputError(path, `the batch state file cannot be written (${code(err)}): make it writable, or pass --state <another file>`);
  }
  return readState(path);
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
