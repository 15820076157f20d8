// Writes a copy of a model file with byte ranges replaced, streaming the unchanged bytes in chunks:
// a 1 GB model is rewritten with a few MB of memory. Edits inside the graph change its length prefix,
// which is re-encoded here.
import { closeSync, openSync, writeSync } from "node:fs";
import type { WireField } from "./wire.ts";
import { concatBytes, encodeVarint, readFully, WIRE_LEN } from "./wire.ts";

export interface Edit {
  start: number;
  end: number;
  bytes: Uint8Array;
  /** "model" for top-level ModelProto fields (an insertion at the graph's end is otherwise taken as inside it). */
  scope?: "graph" | "model";
}

const CHUNK = 8 << 20;

/** Copies `sourcePath` to `outPath` applying `edits` (non-overlapping); `graph` is the ModelProto graph field. */
export function spliceModel(p: { sourcePath: string; size: number; outPath: string; graph: WireField; edits: Edit[] }): void {
  // At one offset, graph edits come first: an insertion at the graph's end belongs inside it, a model one after.
  const order = (e: Edit) => (e.scope === "model" ? 1 : 0);
  const sorted = [...p.edits].sort((a, b) => a.start - b.start || order(a) - order(b) || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < sorted[i - 1].end) throw new Error(`overlapping edits at ${sorted[i].start}`);
  }
  const inGraph = (e: Edit) => e.scope !== "model" && e.start >= p.graph.valueStart && e.end <= p.graph.end;
  let graphLength = p.graph.end - p.graph.valueStart;
  for (const e of sorted) if (inGraph(e)) graphLength += e.bytes.length - (e.end - e.start);
  const header: Edit = {
    start: p.graph.start,
    end: p.graph.valueStart,
    bytes: concatBytes([encodeVarint(7 * 8 + WIRE_LEN), encodeVarint(graphLength)]),
  };
  const all = [header, ...sorted];
  all.sort((a, b) => a.start - b.start || order(a) - order(b) || a.end - b.end);
  const src = openSync(p.sourcePath, "r");
  const out = openSync(p.outPath, "w");
  try {
    const buf = new Uint8Array(CHUNK);
    let pos = 0;
    const copyTo = (end: number) => {
      while (pos < end) {
        const n = Math.min(CHUNK, end - pos);
        const view = buf.subarray(0, n);
        readFully(src, view, pos);
        writeAll(out, view);
        pos += n;
      }
    };
    for (const e of all) {
      copyTo(e.start);
      writeAll(out, e.bytes);
      pos = e.end;
    }
    copyTo(p.size);
  } finally {
    closeSync(src);
    closeSync(out);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
