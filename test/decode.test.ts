// Incremental decoding over the K/V cache on the CPU: a prefill, a chunk appended after it, then single tokens give
// the logits the full forward pass gives at the last position, for every family (sliding windows and Gemma's local
// layers included: the sequence runs past their window).
import { cpuBackend } from "../src/eval/cpu/forward.ts";
import { checkDecoding, familyDecodeCases } from "./support/decode-check.ts";
import { test } from "./support/harness.ts";

test("decode cpu: a prefill, a chunk and single tokens over the K/V cache give the full pass's last logits, every family (past Gemma's 64-token window)", async () => {
  // 76 tokens: Gemma's sliding layers drop keys from position 64 on, during the single steps.
  for (const c of await familyDecodeCases(76)) {
    const cpu = cpuBackend(c.weights);
    await checkDecoding(cpu, cpu, c, 40, 30, 1e-5);
  }
}, { timeoutMs: 60_000 });
