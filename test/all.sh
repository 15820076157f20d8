#!/usr/bin/env bash
# Runs the whole suite under Node, Bun and Deno and ends with one line: "N passed, N failed" over all three.
# A runtime that crashes or reports no summary counts as a failure.
# YARNIFY_TEST_LANES=2 runs Node's suite alongside Bun's and then Deno's: each runtime's suite is one process that
# keeps about one core busy, so two lanes use both cores of a 2-core CI machine; Node's log streams, Bun's and Deno's
# are printed whole when their lane is done. Unset (or 1), the runtimes run one after another, as on a machine shared with others.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
total_pass=0
total_fail=0
status=0
logs=$(mktemp -d "${TMPDIR:-/tmp}/yarnify-test-logs.XXXXXX")
# llama.cpp's judgements depend only on their inputs' bytes: the first runtime computes them, the others read them
# back (test/support/judge-cache.ts); the folder lives as long as this run.
YARNIFY_JUDGE_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/yarnify-judge-cache.XXXXXX")
export YARNIFY_JUDGE_CACHE
trap 'rm -rf "$YARNIFY_JUDGE_CACHE" "$logs"' EXIT
# Runs one runtime's suite into $logs/NAME.log (and, with `tee`, onto stdout as it goes) and keeps its exit status.
suite() {
  local name=$1 mode=$2; shift 2
  if [[ $mode == tee ]]; then "$@" 2>&1 | tee "$logs/$name.log"; echo "${PIPESTATUS[0]}" >"$logs/$name.rc"
  else "$@" >"$logs/$name.log" 2>&1; echo "$?" >"$logs/$name.rc"; fi
}
# Adds a finished runtime's summary line to the totals.
tally() {
  local name=$1 rc summary p f
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
  summary=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$logs/$name.log" | tail -n 1)
  if [[ -z "$summary" ]]; then
    echo "$name: the test run ended without a summary (exit $rc)"
    total_fail=$((total_fail + 1)); status=1; return
  fi
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
if [[ "${YARNIFY_TEST_LANES:-1}" == 2 ]]; then
  suite node tee node dist/test/run.js "$@" &
  { suite bun file "$bin/bun" test/run.ts "$@"; suite deno file "$bin/deno" run -A test/run.ts "$@"; } &
  wait
  cat "$logs/bun.log" "$logs/deno.log"
else
  suite node tee node dist/test/run.js "$@"
  suite bun tee "$bin/bun" test/run.ts "$@"
  suite deno tee "$bin/deno" run -A test/run.ts "$@"
fi
for name in node bun deno; do tally "$name"; done
echo "$total_pass passed, $total_fail failed"
exit $status
