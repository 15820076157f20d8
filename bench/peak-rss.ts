// Peak RSS of this process for the benchmarks' child runs.
import { readFileSync } from "node:fs";

/**
 * VmHWM from /proc (Linux): the same measure for every runtime and for Python. Not getrusage's maxrss, which
 * keeps the parent's peak across fork and exec (Deno's spawn forks: every child would report the parent's).
 */
export function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}
