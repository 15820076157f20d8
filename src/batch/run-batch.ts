// Runs the items of a manifest with bounded concurrency. One failing item does not stop the others; each item
// gets a JSON report; a state file lets an interrupted run resume and skip what is done; a shard selects a
// deterministic part of the manifest. The work of one item is injected (runItem), so the CLI passes the real
// patch+publish and tests pass their own.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutputError } from "../core/errors.ts";
import { describeError, redactSecrets } from "../hub/redact.ts";
import type { BatchItem, Shard } from "./manifest.ts";
import { reportFileName, shardItems } from "./manifest.ts";
import { appendState, openState } from "./state-file.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ItemContext {
  signal: AbortSignal;
  /** Free-form progress lines, collected into the item's report. */
  log: (line: string) => void;
}

export type RunItem = (item: BatchItem, ctx: ItemContext) => Promise<JsonValue>;

export interface ItemReport {
  id: string;
  item: BatchItem;
  status: "done" | "failed" | "skipped" | "interrupted";
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  result?: JsonValue;
  error?: string;
  log: string[];
}

export type BatchEvent =
  | { event: "start"; id: string; running: number }
  | { event: "end"; report: ItemReport }
  | { event: "skip"; id: string };

export interface RunBatchParams {
  items: readonly BatchItem[];
  runItem: RunItem;
  /** Items run at the same time (default 2). */
  concurrency?: number;
  /** JSON-lines resume state; items recorded as done are skipped. */
  statePath?: string;
  /** Where <id>.json per item and summary.json go. */
  reportDir?: string;
  shard?: Shard;
  /** Stops starting new items and aborts running ones (Ctrl-C); they stay undone for the next run. */
  abortSignal?: AbortSignal;
  onEvent?: (e: BatchEvent) => void;
  now?: () => Date;
}

export interface BatchSummary {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  interrupted: number;
  shard?: string;
  reports: ItemReport[];
}

/**
 * Writes JSON under a temporary name renamed into place, so a reader never sees half a report.
 *
 * @example
 * writeJsonAtomic(join(reportDir, "summary.json"), { total: 6, done: 6 });
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  renameSync(tmp, path);
}

/**
 * Runs the items `concurrency` at a time, skipping those the state file records as done, with a report per item in `reportDir` when given.
 *
 * @example
 * const summary = await runBatch({
 *   items: parseManifest(text).items,
 *   runItem: createBatchRunner({ baseDir: ".", accessToken: process.env.HF_TOKEN }),
 *   concurrency: 4,
 *   statePath: "batch.state.jsonl",
 * });
 */
export async function runBatch(params: RunBatchParams): Promise<BatchSummary> {
  const now = params.now ?? (() => new Date());
  const selected = params.shard ? shardItems(params.items, params.shard) : [...params.items];
  // Both checked before the first item: a state or report that cannot be kept would be found only after publishing.
  const state = params.statePath ? openState(params.statePath) : new Map();
  if (params.reportDir) {
    try {
      mkdirSync(params.reportDir, { recursive: true });
    } catch (err) {
      throw new OutputError(params.reportDir, `the report folder cannot be made (${(err as NodeJS.ErrnoException).code ?? describeError(err)}): pass --reports <another folder>`);
    }
  }
  const reports: ItemReport[] = new Array(selected.length);
  const concurrency = Math.max(1, Math.floor(params.concurrency ?? 2));
  let next = 0;
  let running = 0;

  const runOne = async (index: number): Promise<void> => {
    const item = selected[index];
    if (state.get(item.id)?.status === "done") {
      reports[index] = { id: item.id, item, status: "skipped", log: [] };
      params.onEvent?.({ event: "skip", id: item.id });
      return;
    }
    const log: string[] = [];
    const controller = new AbortController();
    const onAbort = () => controller.abort(params.abortSignal?.reason);
    params.abortSignal?.addEventListener("abort", onAbort, { once: true });
    const started = now();
    running++;
    params.onEvent?.({ event: "start", id: item.id, running });
    let report: ItemReport;
    try {
      const result = await params.runItem(item, { signal: controller.signal, log: (l) => log.push(redactSecrets(l)) });
      report = { id: item.id, item, status: "done", result, log };
    } catch (err) {
      const interrupted = params.abortSignal?.aborted === true;
      report = { id: item.id, item, status: interrupted ? "interrupted" : "failed", error: describeError(err), log };
    } finally {
      running--;
      params.abortSignal?.removeEventListener("abort", onAbort);
    }
    const finished = now();
    report.startedAt = started.toISOString();
    report.finishedAt = finished.toISOString();
    report.durationMs = finished.getTime() - started.getTime();
    reports[index] = report;
    if (params.reportDir) writeJsonAtomic(join(params.reportDir, reportFileName(item.id)), report);
    // Interrupted items are not recorded, so the next run does them again.
    if (params.statePath && report.status !== "interrupted") {
      appendState(params.statePath, { id: item.id, status: report.status as "done" | "failed", finishedAt: report.finishedAt });
    }
    params.onEvent?.({ event: "end", report });
  };

  const worker = async (): Promise<void> => {
    while (next < selected.length) {
      const index = next++;
      if (params.abortSignal?.aborted) {
        reports[index] = { id: selected[index].id, item: selected[index], status: "interrupted", log: [] };
        continue;
      }
      await runOne(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, selected.length)) }, worker));

  const count = (s: ItemReport["status"]) => reports.filter((r) => r.status === s).length;
  const summary: BatchSummary = {
    total: selected.length,
    done: count("done"),
    failed: count("failed"),
    skipped: count("skipped"),
    interrupted: count("interrupted"),
    ...(params.shard && { shard: `${params.shard.index}/${params.shard.count}` }),
    reports,
  };
  if (params.reportDir) writeJsonAtomic(join(params.reportDir, "summary.json"), { ...summary, reports: reports.map((r) => ({ id: r.id, status: r.status, error: r.error })) });
  return summary;
}

/**
 * 0 when every selected item is done (now or in an earlier run), 1 otherwise.
 *
 * @example
 * process.exitCode = batchExitCode(await runBatch({ items, runItem }));
 */
export function batchExitCode(summary: BatchSummary): number {
  return summary.failed === 0 && summary.interrupted === 0 ? 0 : 1;
}
