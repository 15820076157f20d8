#!/usr/bin/env bash
# The GGUF patch benchmark (bench/gguf.ts) on the lent machine's 16 idle cores, where `cp` is not slowed by other
# work. Here: `bash bench/gpu-machine/gguf.sh prepare` puts in .gg/app (git-excluded) the package as npm installs it
# for a GGUF patch: the build (dist/), bin/, bench/cli-report.cjs and the three npm packages a GGUF patch loads
# (@huggingface/gguf, @huggingface/tasks, cac; the machine has no registry), and Node, compressed (Deno comes from
# .rt, see prepare.sh). There, carrying [".gg", ".rt"]: `bash bench/gpu-machine/gguf.sh [node|deno]` runs it under
# Node (.gg/app/dist/bench/gguf.js: each child is `node bin/yarnify.cjs patch ...`) and/or Deno (the sources: `deno
# run -A src/cli.ts patch ...`), with a sweep of copy lanes (4, 8, 16); output also in $OUT. Each runtime takes a
# few minutes (ROUNDS=n sets the rounds, 9 by default): run them as two calls if one would pass the per-call limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = prepare ]; then
  grep -qx "/.gg/" .git/info/exclude || echo "/.gg/" >> .git/info/exclude
  mkdir -p .gg .rt
  npm run -s build
  rm -rf .gg/app .gg/gguf.js && mkdir -p .gg/app/node_modules/@huggingface .gg/app/bench
  cp -r dist bin package.json .gg/app/
  cp bench/cli-report.cjs .gg/app/bench/
  cp -rL node_modules/@huggingface/gguf node_modules/@huggingface/tasks .gg/app/node_modules/@huggingface/
  cp -rL node_modules/cac .gg/app/node_modules/
  [ -s .gg/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .gg/node.xz
  [ -s .rt/deno.xz ] || xz -T0 -6 -c node_modules/@deno/linux-x64-glibc/deno > .rt/deno.xz
  du -sh .gg .rt
  exit 0
fi
OUT=${OUT:-/tmp/yarnify-gguf-out}; mkdir -p "$OUT" /tmp/gb
xz -d -T8 -c .gg/node.xz > /tmp/gb/node; xz -d -T8 -c .rt/deno.xz > /tmp/gb/deno; chmod +x /tmp/gb/node /tmp/gb/deno
nproc
[ -e node_modules ] || ln -s .gg/app/node_modules node_modules # Deno reads the packages from ./node_modules
which=${1:-both}
if [ "$which" != deno ]; then
  /tmp/gb/node .gg/app/dist/bench/gguf.js 0.5,2 /tmp --rounds "${ROUNDS:-9}" --lanes 4,8,16 2>&1 | tee "$OUT/node.txt"
fi
if [ "$which" != node ]; then
  /tmp/gb/deno run -A bench/gguf.ts 0.5,2 /tmp --rounds "${ROUNDS:-9}" --lanes 4,8,16 2>&1 | tee "$OUT/deno.txt"
fi
