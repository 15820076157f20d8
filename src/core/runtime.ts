// Which JavaScript runtime is executing us; used for reports and the test summary.
export type RuntimeName = "node" | "bun" | "deno";

export function runtimeName(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/**
 * The running runtime's own version: Bun.version, Deno.version.deno, or Node's (Bun and Deno report a Node
 * compatibility version in process.version).
 *
 * @example
 * console.log(`${runtimeName()} ${runtimeVersion()}`); // "bun 1.4.5"
 */
export function runtimeVersion(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno !== undefined) return g.Deno.version.deno;
  if (g.Bun !== undefined) return g.Bun.version;
  return process.versions.node;
}
