// The container of a `batch --hf-jobs` shard job, emulated in-process for the stand-in hub's Jobs API.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.ts";
import { SUMMARY_MARKER } from "../../src/hub/shard-job-spec.ts";
import { buffers } from "./cli-io.ts";
import type { JobExecutor } from "./hub-jobs.ts";

/**
 * Emulates a shard job's container in-process: the manifest and state from its environment are written to a fresh
 * folder, and the `batch` arguments of its `sh -c` script run through the CLI with HF_TOKEN from its secrets and
 * HF_ENDPOINT from its environment; the logs are what the script prints (stderr, the marker, the summary).
 */
export function inProcessShardJobs(workDir: string): JobExecutor {
  return async (job) => {
    const script = job.command[2] ?? "";
    const m = /npx --yes '([^']+)' batch manifest\.json (.+?) --json > summary\.json/.exec(script);
    if (job.command[0] !== "sh" || !m) return { exitCode: 127, logs: [`sh: cannot run ${JSON.stringify(job.command)}`] };
    const dir = mkdtempSync(join(workDir, "job-"));
    writeFileSync(join(dir, "manifest.json"), job.environment.YARNIFY_MANIFEST ?? "");
    writeFileSync(join(dir, "manifest.json.state.jsonl"), `${job.environment.YARNIFY_STATE ?? ""}\n`);
    const b = buffers(undefined, { HF_TOKEN: job.secrets.HF_TOKEN, HF_ENDPOINT: job.environment.HF_ENDPOINT });
    const exitCode = await runCli(["batch", join(dir, "manifest.json"), ...m[2].split(" "), "--json", "--cache-dir", join(dir, "cache")], b.io);
    const lines = (s: string) => s.split("\n").filter((l) => l !== "");
    return { exitCode, logs: [`npm warn exec The following package was not found and will be installed: ${m[1]}`, ...lines(b.err()), SUMMARY_MARKER, ...lines(b.out())] };
  };
}

