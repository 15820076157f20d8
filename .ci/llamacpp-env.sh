# Sourced by .ci/run before `npm ci`: node-llama-cpp (dev dependency, the llama.cpp judge of the GGUF
# tests) must use its prebuilt CPU binary from the npm registry and never download or build llama.cpp.
# Tests call getLlama({ gpu: false, build: "never" }), so a missing binary fails loudly, not slowly.
export NODE_LLAMA_CPP_POSTINSTALL=skip
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
