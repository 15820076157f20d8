#!/usr/bin/env node
// The yarnify command line's entry (Node runs it bundled, Bun and Deno as it is); the commands are in src/cli/.
import { runProcess } from "./cli/main.ts";

await runProcess();
