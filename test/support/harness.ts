// A tiny test registry that behaves the same on Node, Bun and Deno, so one suite runs everywhere
// and the totals of the three runtimes can be summed by .ci/run.
export interface TestCase {
  name: string;
  fn: () => unknown | Promise<unknown>;
  timeoutMs: number;
}

const registry: TestCase[] = [];

export function test(name: string, fn: () => unknown | Promise<unknown>, opts: { timeoutMs?: number } = {}): void {
  registry.push({ name, fn, timeoutMs: opts.timeoutMs ?? 60_000 });
}

export function registeredTests(): readonly TestCase[] {
  return registry;
}
