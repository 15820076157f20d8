// Which JavaScript runtime is executing us; used for reports and the test summary.
export type RuntimeName = "node" | "bun" | "deno";

export function runtimeName(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}
