// One error idiom and one exit-code table: (file, problem) messages, codes from EXIT_CODES, the README's copy checked.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_CODES, GpuError, ModelFormatError, OutputError, PlanError, YarnifyError } from "../src/core/errors.ts";
import { HubSourceError } from "../src/hub/errors.ts";
import { GgufError } from "../converters/gguf/errors.ts";
import { repoRoot } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";

test("errors: the README's exit-code table is EXIT_CODES, row for row", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Exit codes"));
  const rows = [...section.slice(0, section.indexOf("\n#", 1)).matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(rows, Object.values(EXIT_CODES).map((e) => [e.code, e.meaning]));
});

test("errors: every class is (file, problem) with its code from the table, and codes are distinct", () => {
  const codes = Object.values(EXIT_CODES).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length);
  const cases: [YarnifyError, number][] = [
    [new YarnifyError("--shard", "expected i/n"), 1],
    [new ModelFormatError("m/config.json", "bad"), 2],
    [new PlanError("m", "factor must exceed 1"), 3],
    [new OutputError("out", "exists"), 4],
    [new HubSourceError("x", "not a hub source"), 6],
    [new GpuError(undefined, "no adapter"), 7],
    [new GgufError("a.gguf", "truncated", "cut short"), 2],
    [new GgufError("a.gguf", "unsupported", "no yarn for this arch"), 3],
  ];
  for (const [e, code] of cases) {
    assert.equal(e.exitCode, code, e.name);
    assert.equal(e.message, `${e.file}: ${e.problem}`.replace(/^undefined: /, ""));
  }
});
