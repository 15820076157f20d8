// Progress as an async generator (the huggingface.js pattern): a task emits events, the generator
// yields them as they come and returns the task's result. Consecutive progress events coalesce, so a
// slow consumer sees the latest figures instead of a growing queue.

export type PatchPhase = "read" | "write" | "link" | "verify";

export type PatchGgufEvent =
  | { event: "phase"; phase: PatchPhase; file: string }
  | { event: "progress"; phase: "write" | "verify"; file: string; bytes: number; total: number };

export async function* withEvents<T>(run: (emit: (e: PatchGgufEvent) => void) => Promise<T>): AsyncGenerator<PatchGgufEvent, T> {
  const queue: PatchGgufEvent[] = [];
  let wake: (() => void) | undefined;
  let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  const emit = (e: PatchGgufEvent) => {
    const last = queue[queue.length - 1];
    if (e.event === "progress" && last?.event === "progress" && last.phase === e.phase && last.file === e.file) {
      queue[queue.length - 1] = e;
    } else {
      queue.push(e);
    }
    wake?.();
  };
  run(emit).then(
    (value) => {
      settled = { ok: true, value };
      wake?.();
    },
    (error: unknown) => {
      settled = { ok: false, error };
      wake?.();
    },
  );
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (settled) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  const end = settled as { ok: true; value: T } | { ok: false; error: unknown };
  if (!end.ok) throw end.error;
  return end.value;
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
function bytesText(n: number): string {
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/**
 * One line for a progress event: phase, bytes done of total, rate and ETA since the phase began
 * (`phaseStartedMs` from the caller's clock, `nowMs` likewise). The CLI redraws it on a TTY.
 *
 * @example
 * const started = Date.now();
 * patchGguf({ source, plan, out, onProgress: (e) => e.event === "progress" && process.stderr.write(`\r${progressText(e, started, Date.now())}`) });
 */
export function progressText(e: Extract<PatchGgufEvent, { event: "progress" }>, phaseStartedMs: number, nowMs: number): string {
  const secs = Math.max(1e-3, (nowMs - phaseStartedMs) / 1000);
  const rate = e.bytes / secs;
  const eta = rate > 0 ? Math.ceil((e.total - e.bytes) / rate) : 0;
  const pct = e.total > 0 ? Math.floor((e.bytes / e.total) * 100) : 100;
  return `${e.phase.padEnd(6)} ${String(pct).padStart(3)}%  ${bytesText(e.bytes)} / ${bytesText(e.total)}  ${bytesText(rate)}/s  ETA ${eta}s`;
}
