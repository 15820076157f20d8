// Check: our WebGPU kernel (RoPE fused into flash attention) against the float64 reference, with the model's
// frequencies and attention factor, at positions spread up to the new context.
import { attention, AttentionUnsupportedError, attentionReference, type AttentionProblem, type Gpu } from "../../kernels/index.ts";
import type { RopeSpec } from "../core/rope/types.ts";
import { seededRandom } from "../core/random.ts";
import type { Check } from "./report.ts";

/** f32 target: max abs error relative to the output scale. */
export const KERNEL_TOLERANCE = 1e-4;

export function kernelProblem(spec: RopeSpec, freqs: { invFreq: number[]; attentionFactor: number }, context: number, seq = 256): AttentionProblem {
  const nHeads = 4;
  const nKvHeads = 2;
  const d = spec.headDim;
  const uniform = seededRandom(20261125);
  const rnd = () => uniform() * 2 - 1; // uniform(-1, 1)
  const fill = (n: number) => Float32Array.from({ length: n }, rnd);
  // Positions from 0 to the last one of the new context, increasing, so causal order holds.
  const positions = Array.from({ length: seq }, (_, i) => Math.round((i * (context - 1)) / (seq - 1)));
  return {
    q: fill(nHeads * seq * d),
    k: fill(nKvHeads * seq * d),
    v: fill(nKvHeads * seq * d),
    positions,
    invFreq: freqs.invFreq,
    attentionFactor: freqs.attentionFactor,
    nHeads,
    nKvHeads,
    headDim: d,
    rotaryDim: spec.rotaryDim,
  };
}

export async function kernelCheck(gpu: Gpu | null, problem: AttentionProblem, why = "no WebGPU adapter"): Promise<Check> {
  if (!gpu) return { name: "kernel", status: "skipped", detail: `${why}; the float64 reference alone cannot check the kernel` };
  const reference = attentionReference(problem);
  let out: Float32Array;
  try {
    out = await attention({ ...problem, device: gpu.device });
  } catch (err) {
    if (err instanceof AttentionUnsupportedError) return { name: "kernel", status: "skipped", detail: `kernel cannot run this shape: ${err.message}` };
    throw err;
  }
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(out[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  const relative = maxAbs / scale;
  const ok = relative <= KERNEL_TOLERANCE;
  const last = problem.positions[problem.positions.length - 1];
  return {
    name: "kernel",
    status: ok ? "pass" : "fail",
    detail: `fused WebGPU attention vs float64 reference at ${problem.positions.length} positions up to ${last}: max error ${relative.toExponential(2)} of the output scale (target ≤ ${KERNEL_TOLERANCE})`,
    maxAbsError: maxAbs,
    outputScale: scale,
    relativeError: relative,
    headDim: problem.headDim,
    positions: problem.positions.length,
  };
}
