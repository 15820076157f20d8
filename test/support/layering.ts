// Reads the relative imports of the project's sources and judges them against the floor plan and for cycles (test/layering.test.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export interface Import {
  /** Importing file, relative to the repository root, "/"-separated. */
  from: string;
  /** Imported file, likewise. */
  to: string;
}

/** The .ts files under `dir`, recursively (none when it does not exist). */
export function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

// Static imports and re-exports, `import("…")` and `import type`: every literal relative specifier.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

export function sourceImports(root: string): Import[] {
  const files = ["src", "converters", "kernels"].flatMap((d) => sourceFiles(join(root, d)));
  return files.flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(SPECIFIER)].map((m) => ({
      from: relative(root, file).split("\\").join("/"),
      to: relative(root, resolve(dirname(file), m[1])).split("\\").join("/"),
    }))
  );
}

/** The room a file belongs to: "core", "converters/<format>", "kernels", "app" (src/ beside core) or "outside". */
export function room(path: string): string {
  if (path.startsWith("src/core/")) return "core";
  const converter = /^converters\/([^/]+)\//.exec(path);
  if (converter) return `converters/${converter[1]}`;
  if (path.startsWith("kernels/")) return "kernels";
  if (path.startsWith("src/")) return "app";
  return "outside";
}

/** The imports that break the plan, each as "from -> to". */
export function importViolations(imports: readonly Import[]): string[] {
  return imports.filter(({ from, to }) => {
    const a = room(from);
    const b = room(to);
    if (b === "outside") return true; // nothing ships that imports tests, benches or scripts
    if (a === "app") return false;
    return b !== "core" && b !== a;
  }).map(({ from, to }) => `${from} -> ${to}`);
}

/** Import cycles, each as "a -> b -> ... -> a" (type-only imports count: a cycle means two files own one piece). */
export function importCycles(imports: readonly Import[]): string[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of imports) next.set(from, [...(next.get(from) ?? []), to]);
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    path.push(file);
    for (const to of next.get(file) ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) cycles.push([...path.slice(at), to].join(" -> "));
      else if (!done.has(to)) visit(to);
    }
    path.pop();
    done.add(file);
  };
  for (const file of next.keys()) if (!done.has(file)) visit(file);
  return cycles;
}

// Every import's specifier, relative or bare ("node:fs", "@huggingface/gguf"), static or `import("…")`.
const ANY_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

/**
 * The files `entry` reaches through relative imports (itself included), each with the bare specifiers it imports:
 * what a bundler pulls into a page built from that entry.
 */
export function reachableImports(root: string, entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (reached.has(file)) return;
    const bare: string[] = [];
    reached.set(file, bare);
    for (const m of readFileSync(join(root, file), "utf8").matchAll(ANY_SPECIFIER)) {
      if (!m[1].startsWith(".")) bare.push(m[1]);
      else visit(relative(root, resolve(dirname(join(root, file)), m[1])).split("\\").join("/"));
    }
  };
  visit(entry);
  return reached;
}
