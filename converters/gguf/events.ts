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
