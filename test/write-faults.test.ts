// Issue 16 item 6 (and 15's empty folder): an output on a full disk (ENOSPC), a read-only file system (EROFS), a folder
// that refuses new files (EACCES in /sys) or cannot hold them (ENOENT in /proc) ends with exit 4 and one line naming
// the output and the cause in words, for every format, and leaves nothing behind: no temporary, no lock, no empty
// folder at the final name, no first shard of a split model. The full and read-only disks are small tmpfs mounts in a
// mount namespace of the CLI's own (`unshare -rm`, no root needed where user namespaces are allowed).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { cloneFile } from "../src/core/io/model-dir.ts";
import { runCli } from "./support/cli-run.ts";
import { LLAMA_KV, makeGguf } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

const U16 = GGUFValueType.UINT16;
const MiB = [256, 1024]; // an F32 tensor of 1 MiB
/** The small disk: shard 1 of the split model fits, not both; no other model fits. */
const DISK_KIB = 1536;

/** One model of each format with 2 MiB or more of data, and a GGUF split in two shards of 1 MiB. */
function models(root: string): Array<{ format: string; model: string; out: string; full: string }> {
  const hf = join(root, "hf");
  mkdirSync(hf);
  copyFileSync(sharedPath("models/tiny-llama-py/config.json"), join(hf, "config.json"));
  writeFileSync(join(hf, "model.safetensors"), new Uint8Array(2 << 20)); // carried over as it is: only its size matters
  writeFileSync(join(root, "m.gguf"), makeGguf({ arch: "llama", kv: LLAMA_KV, tensors: [{ name: "v", shape: MiB }, { name: "w", shape: MiB }] }));
  const split = (no: number) => ({ "split.no": { value: no, type: U16 }, "split.count": { value: 2, type: U16 } });
  writeFileSync(join(root, "s-00001-of-00002.gguf"), makeGguf({ arch: "llama", kv: { ...LLAMA_KV, ...split(0) }, tensors: [{ name: "a", shape: MiB }] }));
  writeFileSync(join(root, "s-00002-of-00002.gguf"), makeGguf({ arch: "llama", kv: split(1), tensors: [{ name: "b", shape: MiB }] }));
  const onnx = join(root, "onnx");
  mkdirSync(onnx);
  for (const f of ["model.onnx", "model.onnx.data"]) cloneFile(sharedPath(`models/tiny-llama-py/onnx/${f}`), join(onnx, f));
  copyFileSync(join(hf, "config.json"), join(onnx, "config.json"));
  // `full`: the file the full disk's error names (for a split model shard 2: shard 1 was written, then removed).
  return [
    { format: "hf", model: hf, out: "out", full: "out" },
    { format: "gguf", model: join(root, "m.gguf"), out: "x.gguf", full: "x.gguf" },
    { format: "onnx", model: join(onnx, "model.onnx"), out: "out", full: "out" },
    // A new folder for a split model, and shard names in an existing folder.
    { format: "split gguf", model: join(root, "s-00001-of-00002.gguf"), out: "split/", full: "split/s-00002-of-00002.gguf" },
    { format: "split gguf", model: join(root, "s-00001-of-00002.gguf"), out: "p-00001-of-00002.gguf", full: "p-00002-of-00002.gguf" },
  ];
}

/**
 * The CLI run in a mount namespace of its own where `mnt` is a tmpfs of `kib` KiB (read-only with `ro`); what it
 * leaves in the tmpfs is listed after it exits (the mount goes with the namespace). Undefined where such a namespace
 * cannot be made.
 */
function onSmallDisk(mnt: string, kib: number, ro: boolean, args: string[]): { code: number; stderr: string; left: string[] } | undefined {
  const script = `mount -t tmpfs -o size=${kib}k${ro ? ",ro" : ""} yarnify-test "$0" || exit 99; "$@"; rc=$?; echo @@left; find "$0" -mindepth 1; exit $rc`;
  const r = runCli(args, { wrap: ["unshare", "-rm", "sh", "-c", script, mnt] });
  if (r.code === 99 || !r.stdout.includes("@@left")) return undefined;
  return { code: r.code, stderr: r.stderr, left: r.stdout.split("@@left\n")[1].split("\n").filter(Boolean) };
}

const namespaces = spawnSync("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=4k t /tmp && echo ok"], { encoding: "utf8" }).stdout?.trim() === "ok";

test("a full disk (ENOSPC) and a read-only one (EROFS): exit 4, one line naming the output and the cause, nothing left", () => {
  if (!namespaces) return console.log("     skipped: no mount namespace here (unshare -rm fails), so no small or read-only disk to write to");
  const root = mkdtempSync(join(tmpdir(), "yarnify-faults-"));
  try {
    const mnt = join(root, "disk");
    mkdirSync(mnt);
    for (const { format, model, out, full: named } of models(root)) {
      const target = join(mnt, out);
      const full = onSmallDisk(mnt, DISK_KIB, false, ["patch", model, "--factor", "4", "--out", target]);
      assert.ok(full, "the namespace worked for the probe");
      assert.equal(full.code, 4, `${format} → ${out}: ${full.stderr}`);
      assert.equal(full.stderr, `yarnify: ${join(mnt, named)}: cannot write: no space left on the device (ENOSPC)\n`);
      assert.deepEqual(full.left, [], `${format} → ${out}: nothing left on the disk`);
      const ro = onSmallDisk(mnt, DISK_KIB, true, ["patch", model, "--factor", "4", "--out", target])!;
      assert.equal(ro.code, 4, `${format}: ${ro.stderr}`);
      assert.equal(ro.stderr, `yarnify: ${target.replace(/\/$/, "")}: cannot write: the file system is read-only (EROFS)\n`);
      assert.deepEqual(ro.left, []);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });

test("a folder that refuses new files (/sys: EACCES) or cannot hold them (/proc: ENOENT): exit 4, one line, for every format", () => {
  const root = mkdtempSync(join(tmpdir(), "yarnify-faults-"));
  try {
    for (const { format, model, out } of models(root).slice(0, 3)) {
      for (const [dir, cause] of [["/sys", "permission denied \\(EACCES\\)"], ["/proc", "no such file or directory [^\\n]*\\(ENOENT\\)"]]) {
        const target = join(dir, `yarnify-${out}`);
        const r = runCli(["patch", model, "--factor", "4", "--out", target]);
        assert.equal(r.code, 4, `${format} → ${target}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^yarnify: ${target}: cannot write: ${cause}\\n$`));
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 60_000 });
