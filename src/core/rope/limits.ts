// The one owner of "a number an engine can use": the bounds every RoPE number a plan reads must meet, whichever
// format it came from. The HF, GGUF and ONNX readers check each key they read here (under the key's own name in
// the file), the planner checks the spec and the target again, and a failure is one line naming the file and the
// key (ModelFormatError, exit 2).
//
// The bounds are far beyond any published model and low enough that every computation stays instant and every
// engine can store the result:
// - a context (max_position_embeddings, context_length, original contexts) is a whole number in 1..2^31-1: llama.cpp
//   keeps n_ctx in an int32 and GGUF stores context_length as u32; the largest published context is 10M tokens.
// - rope_theta / freq_base is finite and in (1, 1e12]: published bases go up to about 1e8; above 1e12 every
//   frequency but the first is below float32's resolution of a position.
// - a head or rotary dimension is a whole number in 1..65536 (published: 64 to 512); the rotary dimension is even and
//   at most the head dimension. Each rotary pair costs work in every engine profile; a billion would hang.
// - a head count is a whole number in 1..65536, a hidden size in 1..2^31-1, a partial rotary factor in (0, 1]; a
//   scaling factor is finite and in (0, 2^31-1]; betas, mscales and
//   attention factors are finite (attention factors positive).
import { ModelFormatError } from "../errors.ts";
import type { RopeMethod, RopeSpec } from "./types.ts";

const METHODS: readonly RopeMethod[] = ["none", "linear", "ntk", "dynamic", "yarn", "dynamic-yarn", "llama3", "longrope", "proportional"];

export const MAX_CONTEXT = 2 ** 31 - 1;
export const MAX_THETA = 1e12;
export const MAX_HEAD_DIM = 65536;
export const MAX_HEADS = 65536;

/** The kinds of RoPE number, each with its rule. */
export type RopeNumberKind = "context" | "theta" | "headDim" | "rotaryDim" | "heads" | "size" | "fraction" | "factor" | "finite" | "positive";

const RULES: Record<RopeNumberKind, { integer?: boolean; min: number; minExclusive?: boolean; max: number; words: string }> = {
  context: { integer: true, min: 1, max: MAX_CONTEXT, words: `a whole number of tokens from 1 to ${MAX_CONTEXT}` },
  theta: { min: 1, minExclusive: true, max: MAX_THETA, words: `a number above 1 and at most ${MAX_THETA.toExponential()}` },
  headDim: { integer: true, min: 1, max: MAX_HEAD_DIM, words: `a whole number from 1 to ${MAX_HEAD_DIM}` },
  rotaryDim: { integer: true, min: 2, max: MAX_HEAD_DIM, words: `an even whole number from 2 to ${MAX_HEAD_DIM}` },
  heads: { integer: true, min: 1, max: MAX_HEADS, words: `a whole number from 1 to ${MAX_HEADS}` },
  size: { integer: true, min: 1, max: MAX_CONTEXT, words: `a whole number from 1 to ${MAX_CONTEXT}` },
  fraction: { min: 0, minExclusive: true, max: 1, words: "a number above 0 and at most 1" },
  factor: { min: 0, minExclusive: true, max: MAX_CONTEXT, words: `a positive number at most ${MAX_CONTEXT}` },
  finite: { min: -Number.MAX_VALUE, max: Number.MAX_VALUE, words: "a finite number" },
  positive: { min: 0, minExclusive: true, max: Number.MAX_VALUE, words: "a positive finite number" },
};

/** How a value reads in a message: numbers as written, strings quoted, anything else by its JSON type. */
export function describeValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return String(v);
}

/** What is wrong with `value` as a number of `kind`, or undefined when it is fine. */
export function ropeNumberProblem(kind: RopeNumberKind, value: unknown): string | undefined {
  const rule = RULES[kind];
  const n = typeof value === "bigint" ? Number(value) : value;
  const bad = () => `must be ${rule.words}, got ${describeValue(value)}`;
  if (typeof n !== "number" || !Number.isFinite(n)) return bad();
  if (rule.integer && !Number.isInteger(n)) return bad();
  if (rule.minExclusive ? n <= rule.min : n < rule.min) return bad();
  if (n > rule.max) return bad();
  if (kind === "rotaryDim" && n % 2 !== 0) return bad();
  return undefined;
}

/** `value` as a number of `kind`, or a ModelFormatError "<file>: <key> must be ..., got ...". */
export function checkRopeNumber(file: string | undefined, key: string, kind: RopeNumberKind, value: unknown): number {
  const problem = ropeNumberProblem(kind, value);
  if (problem !== undefined) throw new ModelFormatError(file, `${key} ${problem}`);
  return Number(value);
}

/** The names a format gives the spec's numbers, for messages ("rope_theta", "llama.rope.freq_base", ...). */
export interface RopeKeyNames {
  theta: string;
  headDim: string;
  rotaryDim: string;
  context: string;
  originalContext: string;
  scaling: string;
}

const GENERIC_NAMES: RopeKeyNames = {
  theta: "theta",
  headDim: "head dimension",
  rotaryDim: "rotary dimension",
  context: "context",
  originalContext: "original context",
  scaling: "scaling",
};

const SCALING_NUMBERS: Array<[string, RopeNumberKind]> = [
  ["factor", "factor"],
  ["originalContext", "context"],
  ["betaFast", "finite"],
  ["betaSlow", "finite"],
  ["mscale", "finite"],
  ["mscaleAllDim", "finite"],
  ["attentionFactor", "positive"],
  ["lowFreqFactor", "finite"],
  ["highFreqFactor", "finite"],
];

/**
 * Every number of a spec a plan uses, checked against the bounds above (a spec from any reader, or from a library
 * caller). `names` says what the file calls each one.
 */
export function checkRopeSpec(file: string | undefined, spec: RopeSpec, names: Partial<RopeKeyNames> = {}): void {
  const n = { ...GENERIC_NAMES, ...names };
  if (spec === null || typeof spec !== "object") throw new ModelFormatError(file, "no RoPE parameters");
  checkRopeNumber(file, n.theta, "theta", spec.theta);
  const headDim = checkRopeNumber(file, n.headDim, "headDim", spec.headDim);
  const rotaryDim = checkRopeNumber(file, n.rotaryDim, "rotaryDim", spec.rotaryDim);
  if (rotaryDim > headDim) throw new ModelFormatError(file, `${n.rotaryDim} ${rotaryDim} is larger than ${n.headDim} ${headDim}`);
  checkRopeNumber(file, n.context, "context", spec.context);
  if (spec.originalContext !== undefined) checkRopeNumber(file, n.originalContext, "context", spec.originalContext);
  const s = spec.scaling as unknown as Record<string, unknown> | undefined;
  if (s === null || typeof s !== "object" || typeof s.method !== "string" || !METHODS.includes(s.method as RopeMethod)) {
    throw new ModelFormatError(file, `${n.scaling} is not a RoPE scaling yarnify knows (${METHODS.join(", ")})`);
  }
  for (const [key, kind] of SCALING_NUMBERS) {
    if (Object.hasOwn(s, key) && s[key] !== undefined) checkRopeNumber(file, `${n.scaling} ${key}`, kind, s[key]);
  }
  for (const key of ["shortFactor", "longFactor"]) {
    const list = Object.hasOwn(s, key) ? s[key] : undefined;
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length !== rotaryDim / 2) {
      throw new ModelFormatError(file, `${n.scaling} ${key} must be a list of ${rotaryDim / 2} numbers (one per rotary pair)`);
    }
    list.forEach((x) => checkRopeNumber(file, `${n.scaling} ${key}`, "positive", x));
  }
}
