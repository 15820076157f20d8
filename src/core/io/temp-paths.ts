// Temporary outputs in flight, so an interrupt (Ctrl-C) can remove them and leave nothing partial behind.
import { rmSync } from "node:fs";

const inFlight = new Set<string>();

export function trackTemp(path: string): void {
  inFlight.add(path);
}

export function untrackTemp(path: string): void {
  inFlight.delete(path);
}

export function removeTrackedTemps(): void {
  for (const p of inFlight) rmSync(p, { recursive: true, force: true });
  inFlight.clear();
}

/** A sibling name for `target` that is unique to this process and call. */
export function tempSibling(target: string): string {
  return `${target}.yarnify-tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
