// Copies that are what they claim, on every runtime: a patched model folder's unchanged files are reflinks or hard
// links (checked by inode and link count), never a full copy reported as a link, and the text says which.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runCli } from "../src/cli/main.ts";
import { assertCarried } from "./support/carried.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

test("patch of a model folder: every unchanged file a reflink or hard link, as the report says (inode, link count)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-copies-"));
  try {
    // The source is copied here first, so that source and output share one file system where links can be had.
    const model = join(dir, "tiny");
    cpSync(sharedPath("models/tiny-llama-py"), model, { recursive: true, dereference: true });
    const out: string[] = [];
    const io = { stdout: (s: string) => void out.push(s), stderr: () => undefined, isTTY: false };
    assert.equal(await runCli(["patch", model, "--factor", "4", "-o", join(dir, "out"), "--json"], io), 0);
    const files = (JSON.parse(out.join("")) as { files: Array<{ path: string; how: string }> }).files;
    const carried = files.filter((f) => f.how !== "written");
    assert.ok(carried.length >= 4, "weights, GGUFs, tokenizer, ONNX graph carried over");
    for (const f of carried) assertCarried(join(model, relative(join(dir, "out"), f.path)), f.path, f.how, true);
    // The text names the same ways.
    out.length = 0;
    assert.equal(await runCli(["patch", model, "--factor", "2", "-o", join(dir, "out2")], io), 0);
    const hows = [...new Set(carried.map((f) => f.how))].join("/");
    assert.match(out.join(""), new RegExp(`carried over\\s+${carried.length} unchanged files \\(${hows}\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
