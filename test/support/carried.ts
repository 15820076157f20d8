// Whether a file carried over unchanged is what the report says: a hard link shares the source's inode, a reflink
// or a copy has its own; Deno cannot ask for a reflink (its node:fs would copy in full), so it never claims one.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { runtimeName } from "../../src/core/runtime.ts";

/** Asserts `dst` holds `src`'s bytes as `how` says; on one file system (`sameFs`) a copy is a failure to link. */
export function assertCarried(src: string, dst: string, how: string, sameFs: boolean): void {
  const a = statSync(src);
  const b = statSync(dst);
  if (how === "hardlink" || how === "hardlinked") {
    assert.equal(b.ino, a.ino, `${dst}: a hard link shares the source's inode`);
    assert.ok(b.nlink >= 2, `${dst}: link count ${b.nlink}`);
  } else {
    assert.notEqual(b.ino, a.ino, `${dst}: "${how}" is its own inode`);
  }
  if (runtimeName() === "deno") assert.ok(!how.startsWith("reflink"), `${dst}: Deno cannot ask for a reflink, yet "${how}" is reported`);
  if (sameFs) assert.ok(!how.startsWith("cop"), `${dst}: copied in full on one file system, where a link can be had`);
  assert.ok(readFileSync(dst).equals(readFileSync(src)), `${dst}: same bytes`);
}
