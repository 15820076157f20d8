// Turns hub progress events into text for a terminal: one redrawn line on a TTY, plain lines otherwise.
// The events are the ones patchHubIter / publishIter / downloadToCacheIter yield.
import type { DownloadProgressEvent } from "./download-to-cache.ts";
import type { PublishEvent } from "./publish.ts";
import { redactSecrets } from "./redact.ts";

export type HubProgressEvent = DownloadProgressEvent | PublishEvent | { event: "patched"; changed: string[] };

const PHASES: Record<string, string> = {
  checkingRepo: "checking the target repo",
  creatingRepo: "creating the repo",
  creatingBranch: "creating the branch",
  preuploading: "preparing the commit",
  uploadingLargeFiles: "uploading files",
  committing: "committing",
};

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export interface ProgressWriter {
  (e: HubProgressEvent): void;
  /** Ends a redrawn line. */
  done(): void;
}

/**
 * Writes progress to `write` (e.g. process.stderr.write); on a TTY, file progress redraws one line.
 *
 * @example
 * const progress = createProgressWriter({ write: (s) => process.stderr.write(s), isTTY: Boolean(process.stderr.isTTY) });
 * await patchHub(params, progress);
 * progress.done();
 */
export function createProgressWriter(params: { write: (s: string) => void; isTTY: boolean }): ProgressWriter {
  let open = false;
  const line = (s: string) => {
    if (open) params.write("\n");
    open = false;
    params.write(redactSecrets(s) + "\n");
  };
  const redraw = (s: string) => {
    params.write("\r\x1b[2K" + redactSecrets(s));
    open = true;
  };
  const lastShown = new Map<string, number>();
  const writer = ((e: HubProgressEvent) => {
    if (e.event === "phase") return line(PHASES[e.phase] ?? e.phase);
    if (e.event === "patched") return line(`patched ${e.changed.join(", ")}`);
    if (e.event === "download") {
      if (e.fromCache) return line(`${e.path}: from cache`);
      const text = `downloading ${e.path}: ${mib(e.bytes)}${e.total >= 0 ? ` / ${mib(e.total)}` : ""}`;
      if (params.isTTY) return redraw(text);
      if (e.bytes === e.total) line(text);
      return;
    }
    const pct = Math.floor(e.progress * 100);
    const text = `${e.state} ${e.path}: ${pct}%`;
    if (params.isTTY) return redraw(text);
    // Without a TTY, one line per file and state at 0 and 100 % keeps logs short.
    const key = `${e.state}:${e.path}`;
    const prev = lastShown.get(key);
    if (e.state === "error" || pct === 100 || prev === undefined) {
      if (prev !== pct) line(text);
      lastShown.set(key, pct);
    }
  }) as ProgressWriter;
  writer.done = () => {
    if (open) params.write("\n");
    open = false;
  };
  return writer;
}
