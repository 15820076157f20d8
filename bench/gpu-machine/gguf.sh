#!/usr/bin/env bash
# The GGUF patch benchmark (bench/gguf.ts) on the lent machine's 16 idle cores, where `cp` is not slowed by other
# work. Here: `bash bench/gpu-machine/gguf.sh prepare` bundles the bench with its npm dependencies (the machine has
# no registry) and compresses Node into .gg (git-excluded; Deno comes from .rt, see prepare.sh). There, carrying
# [".gg", ".rt"]: `bash bench/gpu-machine/gguf.sh` runs it under Node and Deno; output also in $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = prepare ]; then
  grep -qx "/.gg/" .git/info/exclude || echo "/.gg/" >> .git/info/exclude
  mkdir -p .gg .rt
  node_modules/.bin/deno bundle --quiet --platform deno -o .gg/gguf.js bench/gguf.ts
  [ -s .gg/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .gg/node.xz
  [ -s .rt/deno.xz ] || xz -T0 -6 -c node_modules/@deno/linux-x64-glibc/deno > .rt/deno.xz
  du -sh .gg .rt
  exit 0
fi
OUT=${OUT:-/tmp/yarnify-gguf-out}; mkdir -p "$OUT" /tmp/gb
xz -d -T8 -c .gg/node.xz > /tmp/gb/node; xz -d -T8 -c .rt/deno.xz > /tmp/gb/deno; chmod +x /tmp/gb/node /tmp/gb/deno
nproc
/tmp/gb/node .gg/gguf.js 0.5,2 /tmp --rounds 9 2>&1 | tee "$OUT/node.txt"
/tmp/gb/deno run -A .gg/gguf.js 0.5,2 /tmp --rounds 9 2>&1 | tee "$OUT/deno.txt"
