// One `yarnify` command in this fresh process, for the benchmarks: the CLI itself (src/cli.ts, which reads
// process.argv when imported) and nothing else loaded before it, so the process costs what `yarnify ...` costs.
// Args: the CLI's own. Prints the CLI's output, then one line of JSON: {"seconds", "maxRssMiB"} (seconds from
// after the runtime started, imports included).
import { peakRssBytes } from "./peak-rss.ts";

const started = performance.now();
process.argv = [process.argv[0]!, "yarnify", ...process.argv.slice(2)];
await import("../src/cli.ts");
if (process.exitCode) throw new Error(`yarnify exited with ${process.exitCode}`);
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, maxRssMiB: peakRssBytes() / 2 ** 20 }));
