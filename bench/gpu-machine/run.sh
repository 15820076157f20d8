#!/usr/bin/env bash
# One call on the lent GPU machine (after bench/gpu-machine/prepare.sh here): the GPU figures of the attention
# kernel against PyTorch, validation, and the evaluator's speed and calibration. Each step's output also goes
# to $OUT/<step>.txt. LOCAL=1 runs the same steps here on lavapipe with tiny sizes (no PyTorch peer).
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/yarnify-gpu-out}; mkdir -p "$OUT"
T=/tmp/yr; rm -rf $T; mkdir -p $T/shared
if [ -z "${LOCAL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  xz -d -T8 -c .rt/deno.xz > /tmp/deno && chmod +x /tmp/deno; DENO=/tmp/deno; PEER="--torch python3"; ORT="--ort-python python3"
  SEQS=1024,2048,4096,8192,16384; LONG=8192,16384; LENS=1024,4096; CTX=256,512,1024,2048,4096; DOCS=24
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv
else
  DENO=node_modules/.bin/deno; PEER=""; ORT=""; SEQS=256,512; LONG=256; LENS=256; CTX=256,512; DOCS=2
fi
cp -r .dev/shared/* $T/shared/
M=$T/shared/models/tiny-llama-py
xz -d -T8 -c .dev/model.safetensors.xz > $M/model.safetensors
xz -d -T8 -c .dev/model.onnx.data.xz > $M/onnx/model.onnx.data
xz -d -c .dev/eval-docs.json.xz > $T/shared/data/eval-docs.json
export YARNIFY_SHARED=$T/shared
step() { local name=$1 limit=$2; shift 2; echo "== $name"; local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  grep -v "^Warning: max" "$OUT/$name.txt"; echo "-- $name: exit $rc in $((SECONDS - t0)) s"; }
step attention 150 $DENO run -A .dev/attention.js --seq $SEQS $PEER --reps 5
step attention-f16 60 $DENO run -A .dev/attention.js --seq $LONG --dim 128 --dtype f16 --baseline-max-seq 0 $PEER --reps 5
for r in 4 8; do for dc in 32 64; do
  step sweep-rows$r-dims$dc 60 $DENO run -A .dev/attention.js --seq $LONG --rows $r --chunk-dims $dc --baseline-max-seq 0 --reps 5
done; done
step validate 60 $DENO run -A .dev/cli.js patch $M --factor 4 --out $T/tiny-yarn4 --validate
step eval-bench 90 $DENO run -A .dev/eval.js --lengths $LENS --runs 3 $ORT
step calibration 90 $DENO run -A .dev/eval-calibration.js --device gpu --docs $DOCS
step eval-table 90 $DENO run -A .dev/cli.js eval $M --text $T/shared/data/eval-docs.json --docs $DOCS --context $CTX --methods none,pi,ntk,dynamic,yarn --device gpu --plot "$OUT/perplexity.svg"
