#!/usr/bin/env bash
# Prepares, on this machine, what one call on the lent GPU machine needs (../shared/docs/gpu-machine.md):
# the Vulkan loader's .debs in .gl, Deno compressed in .rt, and in .dev the entry points bundled with their npm
# dependencies (the GPU machine has no registry) plus the tiny model's fixtures, compressed to fit the 64 MiB
# that travels. All three folders are git-excluded. Then run there, carrying [".gl", ".rt", ".dev"]:
#   bash bench/gpu-machine/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in .gl .rt .dev; do grep -qx "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude; done
mkdir -p .gl .rt .dev/shared/models/tiny-llama-py/onnx .dev/shared/data .dev/shared/reference /tmp/amd64/partial
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
[ -s .rt/deno.xz ] || xz -T0 -6 -c node_modules/@deno/linux-x64-glibc/deno > .rt/deno.xz
for e in src/cli.ts:cli bench/attention.ts:attention bench/eval.ts:eval bench/eval-calibration.ts:eval-calibration; do
  node_modules/.bin/deno bundle --quiet --platform deno -o ".dev/${e#*:}.js" "${e%:*}"
done
cp bench/attention_torch.py bench/eval_ort.py .dev/
shared=${YARNIFY_SHARED:-../shared}
m=$shared/models/tiny-llama-py
cp "$m/config.json" "$m/tokenizer.json" "$m/tokenizer_config.json" .dev/shared/models/tiny-llama-py/
cp "$m/onnx/model.onnx" .dev/shared/models/tiny-llama-py/onnx/
cp "$shared"/reference/*.json .dev/shared/reference/
[ -s .dev/model.safetensors.xz ] || xz -T0 -6 -c "$m/model.safetensors" > .dev/model.safetensors.xz
[ -s .dev/model.onnx.data.xz ] || xz -T0 -6 -c "$m/onnx/model.onnx.data" > .dev/model.onnx.data.xz
[ -s .dev/eval-docs.json.xz ] || xz -c "$shared/data/eval-docs.json" > .dev/eval-docs.json.xz
du -sh .gl .rt .dev
