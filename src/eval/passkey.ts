// The passkey-retrieval prompt of the YaRN paper (jquesnelle/yarn eval/passkey.py), sized in tokens to a context.
import { seededRandom } from "../core/random.ts";
import { EvalInputError } from "./evaluate.ts";
import type { TextTokenizer } from "./tokenizer.ts";

export const PASSKEY_TASK = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.";
export const PASSKEY_GARBAGE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
export const PASSKEY_QUESTION = "What is the pass key? The pass key is";

/**
 * The key line the model must find.
 *
 * @example
 * passkeyLine(42); // "The pass key is 42. Remember it. 42 is the pass key."
 */
export function passkeyLine(key: number): string {
  return `The pass key is ${key}. Remember it. ${key} is the pass key.`;
}

/**
 * The first `chars` characters of the garbage repeated and joined by single spaces (passkey.py's garbage_inf[:n]).
 *
 * @example
 * garbageText(12); // "The grass is"
 */
export function garbageText(chars: number): string {
  const unit = PASSKEY_GARBAGE.length + 1;
  return Array(Math.ceil(chars / unit) + 1).fill(PASSKEY_GARBAGE).join(" ").slice(0, chars);
}

/**
 * The five parts joined by "\n": task line, garbage prefix, key line, garbage suffix, question; prefix and suffix
 * are both cut from the garbage's start and hold `prefixChars` and `garbageChars - prefixChars` characters.
 *
 * @example
 * passkeyText(31337, 500, 250); // 250 garbage characters before the key line, 250 after
 */
export function passkeyText(key: number, garbageChars: number, prefixChars: number): string {
  return [PASSKEY_TASK, garbageText(prefixChars), passkeyLine(key), garbageText(garbageChars - prefixChars), PASSKEY_QUESTION].join("\n");
}

export interface PasskeyPrompt {
  key: number;
  /** Where the key sits: prefix characters / garbage characters (0 = right after the task line). */
  depth: number;
  text: string;
  tokens: Int32Array;
  garbageChars: number;
}

/** Draws keys and split points reproducibly from one seed. */
export interface PasskeyDraw {
  /** Uniform [0, 1) stream, e.g. seededRandom(seed). */
  random: () => number;
  /** A fixed depth in [0, 1] instead of a uniform split over characters. */
  depth?: number;
}

/**
 * One passkey prompt whose tokenization has at most `context` tokens and at least 85% of it: the garbage grows
 * (by bisection over its character count, the split kept at the same fraction) until the prompt reaches the target.
 * The key is uniform in 1..50000; the split uniform over the garbage's characters unless a depth is given.
 *
 * @example
 * const p = passkeyPrompt(tokenizer, 512, { random: seededRandom(1) });
 * console.log(p.key, p.tokens.length); // e.g. 23719 497
 */
export function passkeyPrompt(tok: TextTokenizer, context: number, draw: PasskeyDraw): PasskeyPrompt {
  const key = 1 + Math.floor(draw.random() * 50000);
  const u = draw.depth ?? draw.random();
  if (!(u >= 0 && u <= 1)) throw new EvalInputError(undefined, `depth ${u} is outside [0, 1]`);
  const build = (n: number) => {
    // Uniform over the n + 1 split points 0..n, as random.randint(0, n_garbage).
    const prefix = draw.depth === undefined ? Math.min(n, Math.floor(u * (n + 1))) : Math.round(u * n);
    const text = passkeyText(key, n, prefix);
    return { key, depth: n === 0 ? 0 : prefix / n, text, tokens: Int32Array.from(tok.encode(text)), garbageChars: n };
  };
  let lo = build(0);
  if (lo.tokens.length > context) throw new EvalInputError(undefined, `context ${context} is shorter than the passkey prompt without garbage (${lo.tokens.length} tokens)`);
  // Grow an upper bound, then bisect for the most garbage that still fits.
  let hiChars = Math.max(64, context * 4);
  while (build(hiChars).tokens.length <= context) hiChars *= 2;
  let loChars = 0;
  while (hiChars - loChars > 1) {
    const mid = (loChars + hiChars) >> 1;
    const p = build(mid);
    if (p.tokens.length <= context) { loChars = mid; lo = p; } else hiChars = mid;
  }
  if (lo.tokens.length < Math.ceil(0.85 * context)) {
    throw new EvalInputError(undefined, `no passkey prompt between 85% and 100% of ${context} tokens (best: ${lo.tokens.length})`);
  }
  return lo;
}

/**
 * The answer passkey.py reads from a continuation: its first run of digits ("" when there is none).
 *
 * @example
 * passkeyAnswer(" 4217. Remember it."); // "4217"
 */
export function passkeyAnswer(continuation: string): string {
  return /\d+/.exec(continuation)?.[0] ?? "";
}
