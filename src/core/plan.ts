// From a model's RopeSpec and a target (factor or context) to the exact parameters to store.
import { computeRope } from "./rope/compute.ts";
import { ntkAwareBase } from "./rope/default.ts";
import { statedTrainedContext, trainedContext } from "./rope/trained-context.ts";
import type { RopeScaling, RopeSpec } from "./rope/types.ts";
import { correctionRange, DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, frequencyBands } from "./rope/yarn.ts";
import { PlanError } from "./errors.ts";
import { trainedContextQuirk } from "./rope/family-quirks.ts";
import { checkRopeSpec, MAX_CONTEXT } from "./rope/limits.ts";
import type { Plan, PlanMethod, PlanTarget } from "./types.ts";

const PLAN_METHODS: readonly PlanMethod[] = ["yarn", "linear", "ntk", "dynamic", "dynamic-yarn"];

const fmtFactor = (f: number) => `×${Number(f.toPrecision(6))}`;

function positiveNumber(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new PlanError(undefined, `${what} must be a number, got ${String(v)}`);
  return v;
}

/**
 * Plan an extension. A model that already has scaling is refused unless `force`, which re-plans from its
 * original context (keeping its mscale/mscale_all_dim/truncate unless overridden). `family` (config.json model_type
 * or GGUF architecture) lets the known family quirks pick the trained context (src/core/rope/family-quirks.ts).
 *
 * @example
 * const info = await (await converterFor("./model")).read("./model");
 * const p = plan(info.spec, { context: 131072 });
 * console.log(p.scaling.factor, p.attentionFactor);
 */
export function plan(spec: RopeSpec, target: PlanTarget, opts: { file?: string; family?: string } = {}): Plan {
  const file = opts.file;
  // The readers check every number under its own key name; a spec from elsewhere (a library caller) is checked here.
  checkRopeSpec(file, spec);
  const method = target.method ?? "yarn";
  if (!PLAN_METHODS.includes(method)) throw new PlanError(file, `unknown method "${method}" (use ${PLAN_METHODS.join(", ")})`);
  const existing = spec.scaling;
  // Gemma 4's proportional RoPE with factor 1 is its plain, trained RoPE.
  const proportional = existing.method === "proportional";
  const scaled = existing.method !== "none" && !(proportional && (existing.factor ?? 1) === 1);
  if (proportional && method !== "linear") {
    throw new PlanError(
      file,
      `the full-attention layers use proportional RoPE (Gemma 4), which transformers scales only by dividing every frequency by its factor: ` +
        `use --method linear (a ${method} rope_type there would be computed over another head dim than the one the model was trained with)`,
    );
  }
  if (scaled && !target.force) {
    throw new PlanError(file, `model already has ${existing.method} scaling (factor ${existing.factor ?? "?"}); pass --force to re-plan from its original context`
    );
  }
  const warnings: string[] = [];
  if (target.originalContext !== undefined) {
    const oc = positiveNumber(target.originalContext, "original context");
    if (!Number.isInteger(oc) || oc < 1 || oc > MAX_CONTEXT) {
      throw new PlanError(file, `original context must be a whole number from 1 to ${MAX_CONTEXT}, got ${oc}`);
    }
  }
  // A family whose file declares more than it was trained on (Qwen3: 40960 declared, 32768 trained) is known
  // better than the declaration; an explicit original (the user's, the scaling's) is known better still.
  const quirk = target.originalContext ?? spec.scaling.originalContext ? undefined : trainedContextQuirk(opts.family, spec.context);
  if (quirk) warnings.push(`original context ${quirk.trained}, not the declared ${spec.context}: ${quirk.quirk.summary} (${quirk.quirk.source}); --original-context overrides`);
  else if (target.originalContext === undefined && statedTrainedContext(spec) === undefined) {
    warnings.push(`original context unknown: assuming the declared context ${spec.context} is the trained one`);
  }
  const originalContext = target.originalContext ?? quirk?.trained ?? trainedContext(spec);
  if (target.factor === undefined && target.context === undefined) throw new PlanError(file, "give a factor or a target context");
  if (target.factor !== undefined && target.context !== undefined) throw new PlanError(file, "give a factor or a target context, not both");
  let factor: number;
  let context: number;
  if (target.context !== undefined) {
    context = positiveNumber(target.context, "context");
    if (!Number.isInteger(context)) throw new PlanError(file, `context must be a whole number of tokens, got ${context}`);
    if (context <= originalContext) {
      throw new PlanError(file, `target context ${context} is not above the original context ${originalContext}`);
    }
    factor = context / originalContext;
  } else {
    factor = positiveNumber(target.factor, "factor");
    if (factor <= 1) throw new PlanError(file, `factor must be greater than 1, got ${factor}`);
    context = Math.round(originalContext * factor);
    if (context <= originalContext) {
      throw new PlanError(file, `factor ${factor} does not grow the context: ${originalContext} tokens × ${factor} is still ${context} tokens`);
    }
  }
  if (context > MAX_CONTEXT) {
    throw new PlanError(file, `the target context ${context} is more than ${MAX_CONTEXT} tokens, the most an engine can hold`);
  }
  if (context <= spec.context) {
    if (!target.allowShrink) {
      throw new PlanError(
        file,
        `target context ${context} is not above the ${spec.context} tokens the model already declares` +
          ` (${fmtFactor(factor)} × original ${originalContext}); pass --allow-shrink to write ${context} anyway`,
      );
    }
    warnings.push(`context shrinks from ${spec.context} to ${context} tokens (--allow-shrink)`);
  }
  const betaFast = positiveNumber(target.betaFast ?? existing.betaFast ?? DEFAULT_BETA_FAST, "beta_fast");
  const betaSlow = positiveNumber(target.betaSlow ?? existing.betaSlow ?? DEFAULT_BETA_SLOW, "beta_slow");
  // A model's own published betas are kept as they are (Kimi-K2 ships beta_fast = beta_slow = 1, which transformers
  // accepts); only a pair the user changed must be consistent.
  if ((target.betaFast !== undefined || target.betaSlow !== undefined) && betaFast <= betaSlow) {
    throw new PlanError(file, `beta_fast (${betaFast}) must be greater than beta_slow (${betaSlow})`);
  }

  let theta = spec.theta;
  let scaling: RopeScaling;
  switch (method) {
    case "yarn":
    case "dynamic-yarn": {
      scaling = { method, factor, originalContext, betaFast, betaSlow };
      const truncate = target.truncate ?? existing.truncate;
      if (truncate === false) scaling.truncate = false;
      const mscale = target.mscale ?? existing.mscale;
      const mscaleAllDim = target.mscaleAllDim ?? existing.mscaleAllDim;
      if (mscale !== undefined) scaling.mscale = positiveNumber(mscale, "mscale");
      if (mscaleAllDim !== undefined) scaling.mscaleAllDim = positiveNumber(mscaleAllDim, "mscale_all_dim");
      if (target.attentionFactor !== undefined) {
        scaling.attentionFactor = positiveNumber(target.attentionFactor, "attention factor");
        if (!(scaling.attentionFactor > 0)) throw new PlanError(file, `attention factor must be positive, got ${scaling.attentionFactor}`);
      }
      break;
    }
    case "ntk":
      theta = ntkAwareBase(spec.rotaryDim, spec.theta, factor);
      scaling = { method: "none" };
      break;
    default:
      scaling = proportional ? { method: "proportional", factor } : { method, factor };
  }
  // transformers' dynamic NTK scales only past max_position_embeddings, so that key keeps the original context.
  const declared = method === "dynamic" ? originalContext : context;
  if (method === "dynamic") {
    warnings.push(`dynamic NTK engages past max_position_embeddings, which stays ${originalContext}; serving engines that cap at it need their own context limit (${context})`);
  }
  const newSpec: RopeSpec = { ...spec, theta, context: declared, originalContext, scaling };
  const freqs = computeRope(newSpec, { seqLen: context });
  const out: Plan = {
    source: spec,
    method,
    factor,
    originalContext,
    previousContext: spec.context,
    context,
    scaling,
    theta,
    rotaryDim: spec.rotaryDim,
    headDim: spec.headDim,
    invFreq: freqs.invFreq,
    attentionFactor: freqs.attentionFactor,
    warnings,
  };
  if (method === "yarn" || method === "dynamic-yarn") {
    const correction = correctionRange(spec.rotaryDim, spec.theta, originalContext, betaFast, betaSlow, scaling.truncate ?? true);
    out.correction = correction;
    out.bands = frequencyBands(spec.rotaryDim / 2, correction);
  }
  return out;
}
