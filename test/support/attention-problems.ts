// Random attention problems for the kernel tests and the benchmark (seeded, so failures repeat).
import type { AttentionProblem } from "../../kernels/params.ts";
import { computeRope } from "../../src/core/rope/index.ts";
import { seededRandom } from "../../src/core/random.ts";

/** Normal-ish values (sum of uniforms), so scores have a realistic spread. */
function fill(n: number, rnd: () => number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rnd() + rnd() + rnd() - 1.5) * 2 * scale;
  return out;
}

export interface ProblemSpec {
  seq: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  rotaryDim?: number;
  /** Largest position; positions are spread over [0, maxPosition], ascending, first 0 and last maxPosition. */
  maxPosition?: number;
  seed?: number;
  /** YaRN factor over a 4096-token original context, theta 10000 (1 = plain RoPE). */
  factor?: number;
}

export function randomProblem(spec: ProblemSpec): AttentionProblem {
  const { seq, nHeads, nKvHeads, headDim } = spec;
  const rotaryDim = spec.rotaryDim ?? headDim;
  const rnd = seededRandom(spec.seed ?? 1);
  const maxPosition = spec.maxPosition ?? seq - 1;
  const positions = new Uint32Array(seq);
  const picked = new Set<number>([0, maxPosition]);
  while (picked.size < Math.min(seq, maxPosition + 1)) picked.add(Math.floor(rnd() * (maxPosition + 1)));
  Array.from(picked).sort((a, b) => a - b).forEach((x, i) => (positions[i] = x));
  const factor = spec.factor ?? 4;
  const rope = computeRope({
    theta: 10000,
    headDim,
    rotaryDim,
    context: 4096 * factor,
    originalContext: 4096,
    scaling: factor > 1 ? { method: "yarn", factor, originalContext: 4096 } : { method: "none" },
  });
  return {
    q: fill(nHeads * seq * headDim, rnd, 1),
    k: fill(nKvHeads * seq * headDim, rnd, 1),
    v: fill(nKvHeads * seq * headDim, rnd, 1),
    positions,
    invFreq: rope.invFreq,
    attentionFactor: rope.attentionFactor,
    nHeads,
    nKvHeads,
    headDim,
    rotaryDim,
  };
}

/** Max |a - b| over max |b|: the error relative to the output's scale. */
export function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}
