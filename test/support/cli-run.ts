// Runs the yarnify CLI as a user would, on the runtime executing the tests (or another one).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type RuntimeName, runtimeName } from "../../src/core/runtime.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, whether the tests run from test/ (Bun, Deno) or dist/test/ (Node). */
export const repoRoot = resolve(here, runtimeName() === "node" ? "../../.." : "../..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command line that starts the CLI on a runtime: the executable and the arguments before yarnify's own. */
export function command(runtime: RuntimeName): string[] {
  const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
  switch (runtime) {
    case "node":
      return [runtimeName() === "node" ? process.execPath : "node", join(repoRoot, "bin/yarnify.cjs")];
    case "bun":
      return [runtimeName() === "bun" ? process.execPath : bin("bun"), join(repoRoot, "src/cli.ts")];
    case "deno":
      return [runtimeName() === "deno" ? process.execPath : bin("deno"), "run", "-A", join(repoRoot, "src/cli.ts")];
  }
}

/**
 * Runs the CLI and waits for it. `wrap` runs it through another command, given the CLI's command line as its last
 * arguments (a shell that first mounts a small file system, say).
 */
export function runCli(args: string[], opts: { runtime?: RuntimeName; cwd?: string; wrap?: string[] } = {}): CliResult {
  const [exe, ...pre] = command(opts.runtime ?? runtimeName());
  if (!existsSync(exe) && exe.includes("/")) throw new Error(`runtime not installed: ${exe}`);
  const line = [...(opts.wrap ?? []), exe, ...pre, ...args];
  const r = spawnSync(line[0], line.slice(1), { cwd: opts.cwd ?? repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting for it (to signal it, say). */
export function spawnCli(args: string[], opts: { runtime?: RuntimeName; cwd?: string } = {}): ChildProcessWithoutNullStreams {
  const [exe, ...pre] = command(opts.runtime ?? runtimeName());
  return spawn(exe, [...pre, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, NO_COLOR: "1" } });
}

/** The same, without blocking the event loop (for tests whose server runs in this process). */
export function runCliAsync(args: string[], opts: { runtime?: RuntimeName; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, opts);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
