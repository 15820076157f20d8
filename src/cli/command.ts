// A command as data (huggingface.js's cli.ts shape): its usage, options and examples, and one named function that
// runs it against the output seam and returns the exit code.
import type { CAC } from "cac";
import type { CliIo } from "./io.ts";
import type { OptionSpec } from "./options.ts";

export interface Command<O = Record<string, unknown>> {
  /** cac's usage: "patch <model>". */
  usage: string;
  description: string;
  options: OptionSpec[];
  examples?: string[];
  /**
   * Runs the command for its argument (and, in `more`, the optional ones its usage declares after it, such as
   * batch's `[shards]`); resolves to the process exit code.
   */
  run(arg: string, options: O, io: CliIo, more?: string[]): Promise<number>;
}

/** Declares `command` on cac; its action resolves to the command's exit code. */
export function register<O>(cli: CAC, command: Command<O>, io: CliIo): void {
  const c = cli.command(command.usage, command.description);
  for (const o of command.options) {
    c.option(o.flags, o.description, o.default === undefined ? undefined : { default: o.default });
    // cac gives a --no-x flag the default true, which its help prints as "(default: true)" beside "Do not x". The
    // commands read such a flag as `=== false`, so no default is needed: without it, the help says what the flag does.
    if (o.flags.startsWith("--no-")) c.options.at(-1)!.config.default = undefined;
  }
  for (const e of command.examples ?? []) c.example(e);
  // cac passes every declared argument (undefined when left out), then the options.
  c.action((...received: unknown[]) => {
    const options = received.pop() as O;
    const [arg, ...more] = received as Array<string | undefined>;
    return command.run(arg as string, options, io, more.filter((m): m is string => m !== undefined));
  });
}
