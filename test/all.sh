#!/usr/bin/env bash
# Runs the whole suite under Node, Bun and Deno and ends with one line: "N passed, N failed" over all three.
# A runtime that crashes or reports no summary counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
total_pass=0
total_fail=0
status=0
run() {
  local name=$1; shift
  local log
  log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local summary
  summary=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)
  rm -f "$log"
  if [[ -z "$summary" ]]; then
    echo "$name: the test run ended without a summary (exit $rc)"
    total_fail=$((total_fail + 1)); status=1; return
  fi
  local p f
  p=$(sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")
  f=$(sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [[ $rc -ne 0 || $f -ne 0 ]] && status=1
}
# WebGPU tests need an adapter: without a GPU (YARNIFY_GPU unset or "lavapipe") Mesa's CPU Vulkan driver is set up
# in a private folder; YARNIFY_GPU=system uses the machine's own driver.
if [[ "${YARNIFY_GPU:-lavapipe}" == lavapipe ]]; then
  eval "$(bash .ci/setup-lavapipe.sh)" || { echo "lavapipe setup failed"; status=1; }
fi
# The build's tsc (tsconfig.build.json extends tsconfig.json over the same files) is the typecheck: a type error
# fails it, so `tsc -p tsconfig.json` first would check every file twice.
npm run -s build || { echo "build failed (a type error fails it too)"; status=1; }
# llama.cpp's judgements depend only on their inputs' bytes: the first runtime computes them, the others read them
# back (test/support/judge-cache.ts); the folder lives as long as this run.
YARNIFY_JUDGE_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/yarnify-judge-cache.XXXXXX")
export YARNIFY_JUDGE_CACHE
trap 'rm -rf "$YARNIFY_JUDGE_CACHE"' EXIT
run node node dist/test/run.js "$@"
run bun "$bin/bun" test/run.ts "$@"
run deno "$bin/deno" run -A test/run.ts "$@"
echo "$total_pass passed, $total_fail failed"
exit $status
