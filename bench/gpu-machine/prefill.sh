#!/usr/bin/env bash
# Prefill on the lent GPU machine: random-weight Qwen2.5-0.5B- and Llama-3.1-8B-shaped GGUFs (F16 and Q8_0, made
# there by bench/random-gguf.ts from examples/*/config.json) at 4k, 16k and 32k tokens: the WebGPU evaluator
# (bench/prefill.ts), llama.cpp's CUDA backend through node-llama-cpp on the same GGUF, PyTorch eager (same shape,
# random f16 weights), each with its tokens/s and the GPU's peak memory (nvidia-smi sampled every 100 ms, less what
# was in use before); then the ratios. Output also in $OUT.
#
# Here, once: `bash bench/gpu-machine/prefill.sh prepare` (needs bench/gpu-machine/prepare.sh's .gl and .rt) makes
#   .pf   (in .gitignore) the bundled entry points, the PyTorch peer and the two configs, a few MiB;
#   .llc  (in .gitignore) Node, node-llama-cpp with its dependencies and its CUDA binaries (@node-llama-cpp/linux-x64-cuda,
#         libggml-cuda.so alone is 159 MB, 118 MB compressed) as an xz tarball cut into 60 MiB parts (three: 60, 60,
#         29 MiB): more than the 64 MiB one call carries, so each part travels in a call of its own beforehand (the
#         machine keeps ignored files between calls while it stays warm): `run` with carry [".llc/part-aa"] and
#         command `ls -l .llc`, then [".llc/part-ab"], then [".llc/part-ac"].
# There, carrying [".gl", ".rt", ".pf"]: `bash bench/gpu-machine/prefill.sh`. Without every .llc part there the
# llama.cpp rows say so and the rest runs. SHAPES (qwen0.5b,llama8b), TYPES (F16,Q8_0), LENGTHS (4096,16384,32768),
# GPU_MEMORY (GiB for --gpu-memory, default unset) and STEP_LIMIT (seconds per engine and model, 600) narrow a run to
# fit the per-call limit: the 8B shape at three lengths is several minutes per engine.
# LOCAL=1 runs the same steps here on lavapipe with tiny fixture shapes, llama.cpp on the CPU, no PyTorch.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = prepare ]; then
  set -e
  rm -rf .pf .llc && mkdir -p .pf/examples .llc
  for e in bench/prefill.ts:prefill bench/random-gguf.ts:random-gguf; do
    node_modules/.bin/deno bundle --quiet --platform deno -o ".pf/${e#*:}.js" "${e%:*}"
  done
  cp bench/prefill_torch.py .pf/ && cp -r examples/qwen2.5-0.5b examples/llama-3.1-8b .pf/examples/
  # random-gguf.js reads the tiny model's vocabulary from YARNIFY_SHARED: a vocabulary-only GGUF of it suffices.
  mkdir -p .pf/shared/models/tiny-llama-py
  node_modules/.bin/bun -e 'import { writeVocabGguf } from "./test/support/family-fixtures.ts"; await writeVocabGguf(".pf/shared/models/tiny-llama-py/tiny-llama-f32.gguf", "gpt-2");'
  # node-llama-cpp and what it imports, resolved as Node resolves them from node_modules (the CUDA build only).
  npm run -s build
  t=$(mktemp -d) && mkdir -p "$t/llc/app/node_modules" "$t/llc/app/bench"
  cp dist/bench/prefill-llamacpp.js "$t/llc/app/bench/"
  node -e '
    // Each package, then what it depends on, found as Node finds it (its own node_modules, then each folder up).
    const { existsSync, readFileSync, realpathSync } = require("node:fs"); const { dirname, join, relative } = require("node:path");
    const root = realpathSync("."), top = new Set(), seen = new Set(), todo = [join(root, "node_modules/node-llama-cpp")];
    const find = (dep, from) => { for (let d = from; ; d = dirname(d)) { const c = join(d, "node_modules", dep);
      if (existsSync(join(c, "package.json"))) return c; if (d === root) return null; } };
    while (todo.length) { const dir = todo.pop(); if (seen.has(dir)) continue; seen.add(dir);
      const rel = relative(join(root, "node_modules"), dir); if (!rel.includes("node_modules")) top.add(rel);
      const p = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const deps = [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.optionalDependencies ?? {})]
        .filter((d) => !d.startsWith("@node-llama-cpp/") || d === "@node-llama-cpp/linux-x64-cuda");
      for (const d of deps) { const c = find(d, dir); if (c) todo.push(c); } }
    console.log([...top].join("\n"));' > "$t/deps"
  while read -r d; do mkdir -p "$t/llc/app/node_modules/$(dirname "$d")"; cp -rL "node_modules/$d" "$t/llc/app/node_modules/$d"; done < "$t/deps"
  rm -f "$t/llc/app/node_modules/node-llama-cpp/llama/gitRelease.bundle"
  cp "$(readlink -f "$(command -v node)")" "$t/llc/node"
  tar -C "$t" -cf - llc | xz -T0 -6 > "$t/llc.tar.xz"
  split -b 60M "$t/llc.tar.xz" .llc/part-
  rm -rf "$t"
  du -sh .pf .llc .llc/* .rt .gl 2>/dev/null || true
  exit 0
fi

OUT=${OUT:-/tmp/yarnify-prefill-out}; mkdir -p "$OUT"
W=/tmp/pf; rm -rf $W; mkdir -p $W
if [ -z "${LOCAL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  xz -d -T8 -c .rt/deno.xz > /tmp/deno && chmod +x /tmp/deno
  DENO="/tmp/deno run -A"; OURS=.pf/prefill.js; GEN=.pf/random-gguf.js; CONFIGS=.pf/examples
  SHAPES=${SHAPES:-qwen0.5b,llama8b}; TYPES=${TYPES:-F16,Q8_0}; LENGTHS=${LENGTHS:-4096,16384,32768}
  export YARNIFY_SHARED=$PWD/.pf/shared
  if ls .llc/part-* >/dev/null 2>&1 && cat .llc/part-* | xz -d -T8 | tar -C $W -xf - 2>/dev/null; then
    # node-llama-cpp's CUDA build links the CUDA 12 runtime and cuBLAS: PyTorch's wheels bring them. It looks for
    # them, and for the driver's libcuda and libnvidia-ml, in LD_LIBRARY_PATH's folders.
    LIBS=$(python3 -c 'import glob, os, site; print(":".join(sorted({os.path.dirname(p) for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/*/lib/*.so*")})))' 2>/dev/null)
    LIBS=$LIBS:$(ldconfig -p | grep -E 'libcuda\.so\.1|libnvidia-ml\.so\.1' | sed 's/.*=> //; s|/[^/]*$||' | sort -u | paste -sd:):/usr/local/nvidia/lib64
    echo "llama.cpp CUDA: libraries searched in $LIBS"
    LLAMA="env LD_LIBRARY_PATH=$LIBS:${LD_LIBRARY_PATH:-} $W/llc/node $W/llc/app/bench/prefill-llamacpp.js"; LLAMA_GPU=cuda
  else
    LLAMA=""
  fi
  python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && TORCH=python3 || TORCH=""
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
else
  DENO="node_modules/.bin/deno run -A"; OURS=bench/prefill.ts; GEN=bench/random-gguf.ts; CONFIGS=examples
  SHAPES=${SHAPES:-qwen0.5b,llama8b}; TYPES=${TYPES:-F16,Q8_0}; LENGTHS=${LENGTHS:-128,256}
  LLAMA="node_modules/.bin/bun bench/prefill-llamacpp.ts"; LLAMA_GPU=false; TORCH=""
fi
LIMIT=${STEP_LIMIT:-600}
smi() { command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
# Runs one engine on one model: its JSON lines into $OUT/results.jsonl, each with the GPU's peak memory over the step.
step() { local name=$1; shift; echo "== $name"; local base; base=$(smi); local log=$OUT/$name.smi
  if [ -n "$base" ]; then nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$log" & local sampler=$!; fi
  local t0=$SECONDS; timeout "$LIMIT" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  if [ -n "$base" ]; then kill "$sampler"; wait "$sampler" 2>/dev/null; fi
  local peak=""; [ -n "$base" ] && peak=$(sort -n "$log" | tail -1) && peak=$(( ${peak:-$base} - base ))
  grep '^{' "$OUT/$name.txt" | sed "s/}\$/,\"step\":\"$name\",\"stepPeakMiB\":${peak:-null}}/" | tee -a "$OUT/results.jsonl"
  grep -v '^{' "$OUT/$name.txt" | grep -v "^Warning: max" | tail -5; echo "-- $name: exit $rc in $((SECONDS - t0)) s"; }
: > "$OUT/results.jsonl"
for shape in ${SHAPES//,/ }; do
  case $shape in
    qwen0.5b) config=$CONFIGS/qwen2.5-0.5b; [ -n "${LOCAL:-}" ] && config=qwen2 ;;
    llama8b) config=$CONFIGS/llama-3.1-8b; [ -n "${LOCAL:-}" ] && config=llama-q ;;
    *) echo "unknown shape $shape (qwen0.5b, llama8b)"; exit 1 ;;
  esac
  for type in ${TYPES//,/ }; do
    gguf=$W/$shape-$type.gguf
    $DENO $GEN "$config" "$type" "$gguf" || continue
    step "yarnify-$shape-$type" $DENO $OURS "$gguf" --lengths "$LENGTHS" ${GPU_MEMORY:+--gpu-memory "$GPU_MEMORY"}
    if [ -n "$LLAMA" ]; then step "llamacpp-$shape-$type" $LLAMA "$gguf" --lengths "$LENGTHS" --gpu "$LLAMA_GPU"
    else echo "== llamacpp-$shape-$type: not run (node-llama-cpp's CUDA build was not carried: see the top of this script)"; fi
    rm -f "$gguf"
  done
  if [ -n "$TORCH" ]; then step "torch-$shape" $TORCH .pf/prefill_torch.py "$config" --lengths "$LENGTHS"; fi
done
echo "== ratios (prefill tokens/s, ours over the peer at the same shape, type and length)"
python3 - "$OUT/results.jsonl" <<'EOF' | tee "$OUT/ratios.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
key = lambda r: r["step"].split("-", 1)[1]
ours = [r for r in rows if r["engine"] == "yarnify webgpu"]
for r in ours:
    shape_type = key(r); shape = shape_type.rsplit("-", 1)[0]
    line = f"{shape_type:>16} {r['tokens']:>6} tokens: ours {r['tokensPerSecond']} tok/s, GPU peak {r['stepPeakMiB'] if r['stepPeakMiB'] is not None else 'n/a'} MiB (memory model {r['memoryModelGiB']} GiB)"
    for p in rows:
        if p is r or p["tokens"] != r["tokens"]: continue
        if p["engine"].startswith("llama.cpp") and key(p) == shape_type or p["engine"].startswith("pytorch") and key(p) == shape:
            line += f"; {p['engine']} {p['tokensPerSecond']} tok/s ({r['tokensPerSecond'] / p['tokensPerSecond']:.2f}x), GPU peak {p['stepPeakMiB'] if p['stepPeakMiB'] is not None else 'n/a'} MiB" + (f" (allocated {p['peakGiB']} GiB)" if "peakGiB" in p else "")
    print(line)
EOF
