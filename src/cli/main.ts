// The command line: every command of src/cli/ declared on cac, run against an output seam, errors turned into one
// line (or, under --json, one JSON object on stdout) and the exit code of src/core/errors.ts. runCli runs
// in-process (tests); runProcess is the real process.
import { cac } from "cac";
import { EXIT_CODES, YarnifyError } from "../core/errors.ts";
import { onStaleTemp, removeTrackedTemps } from "../core/io/temp-paths.ts";
import { runtimeName, runtimeVersion } from "../core/runtime.ts";
import { VERSION } from "../version.ts";
import { batchCommand } from "./batch.ts";
import { type Command, register } from "./command.ts";
import { evalCommand } from "./eval.ts";
import { flagsCommand } from "./flags.ts";
import { inspectCommand } from "./inspect.ts";
import type { CliIo } from "./io.ts";
import { patchCommand } from "./patch.ts";
import { recipeCommand } from "./recipe.ts";
import { validateCommand } from "./validate.ts";
import { webCommand } from "./web.ts";

// Each command has its own option type; cac hands each action the options its declarations produce.
const COMMANDS: Command<never>[] = [inspectCommand, patchCommand, validateCommand, evalCommand, batchCommand, flagsCommand, recipeCommand, webCommand];

/**
 * Runs one command line (without the program name) and resolves to its exit code. An error is one line on
 * `io.stderr`; under `--json` it is `{"error": {"code", "file", "problem"}}` on `io.stdout` instead, so a script
 * reading stdout always gets one JSON object.
 *
 * @example
 * const code = await runCli(["inspect", "./model", "--json"], { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false });
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  // A run killed outright (SIGKILL) cannot clean up: the next run that meets its leftovers removes them, and says so.
  onStaleTemp((t) => io.stderr(`yarnify: removed ${t.path}, left by a yarnify run that was killed (pid ${t.pid})\n`));
  const cli = cac("yarnify");
  for (const c of COMMANDS) register(cli, c, io);
  // The help opens with the version (cac's would, from cli.version, which this CLI replaces below).
  cli.help((sections) => [{ body: `yarnify ${VERSION}` }, ...sections.slice(1)]);
  // Our own --version: cac's names Node's compatibility version on Bun and Deno.
  cli.option("-v, --version", "Print the version and the runtime's");
  try {
    throughIo(io, () => cli.parse(["node", "yarnify", ...args], { run: false }));
    if (!cli.matchedCommand) {
      if (cli.options.help) return EXIT_CODES.ok.code;
      if (cli.options.version) {
        io.stdout(`yarnify ${VERSION} (${runtimeName()} ${runtimeVersion()})\n`);
        return EXIT_CODES.ok.code;
      }
      const unknown = cli.args[0];
      if (unknown) throw new YarnifyError(undefined, `unknown command "${unknown}" (see yarnify --help)`);
      // No command at all: the help, and the exit code of a usage error.
      throughIo(io, () => cli.outputHelp());
      return EXIT_CODES.failure.code;
    }
    return (await cli.runMatchedCommand()) as number;
  } catch (err) {
    removeTrackedTemps();
    const interrupted = io.abortSignal?.aborted === true;
    const code = interrupted ? EXIT_CODES.interrupted.code : err instanceof YarnifyError ? err.exitCode : EXIT_CODES.failure.code;
    const file = !interrupted && err instanceof YarnifyError ? err.file : undefined;
    const problem = interrupted ? "interrupted; temporary outputs removed" : err instanceof YarnifyError ? err.problem : (err as Error).message;
    if (args.includes("--json")) io.stdout(JSON.stringify({ error: { code, file: file ?? null, problem } }, null, 2) + "\n");
    else io.stderr(`yarnify: ${file ? `${file}: ` : ""}${problem}\n`);
    return code;
  }
}

/** cac prints help with console.info: for the span of `fn`, that goes through the output seam instead. */
function throughIo<T>(io: CliIo, fn: () => T): T {
  const info = console.info;
  console.info = (...text: unknown[]) => io.stdout(text.join(" ") + "\n");
  try {
    return fn();
  } finally {
    console.info = info;
  }
}

// Catchable signals that end a run: each aborts the command, whose own cleanup runs; the exit is 128 + signal number.
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
/** How long an aborted command may take to unwind before the process ends anyway. */
const UNWIND_MS = 2000;

/** The real process: its arguments and streams, an AbortController tied to the signals, the exit code set. */
export async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let signalCode: number | undefined;
  const end = (code: number) => {
    removeTrackedTemps();
    process.exit(code);
  };
  for (const [signal, code] of Object.entries(SIGNALS)) {
    try {
      process.on(signal, () => {
        if (signalCode !== undefined) end(signalCode); // a second signal: no more waiting
        signalCode = code;
        controller.abort();
        setTimeout(() => end(code), UNWIND_MS).unref?.();
      });
    } catch {
      // A runtime that cannot listen for this signal here (Deno on Windows: SIGHUP) keeps its default.
    }
  }
  const io: CliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
    abortSignal: controller.signal,
  };
  const code = await runCli(process.argv.slice(2), io);
  if (signalCode !== undefined) end(signalCode);
  process.exitCode = code;
}
