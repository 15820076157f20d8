// Which tokens each forward pass sees and which of them are scored.
export interface Window {
  /** Index of the window's first token in the document. */
  start: number;
  length: number;
  /** First scored index inside the window (targets firstTarget..length-1). */
  firstTarget: number;
}

/** The reference protocol: the first `context` tokens, targets 1..context-1. */
export function firstWindow(context: number): Window[] {
  return [{ start: 0, length: context, firstTarget: 1 }];
}

/**
 * Sliding windows of `context` tokens moved by `stride` (Press et al., as in the YaRN paper): each
 * token 1..n-1 is scored once, in the first window that holds it with all the left context the window
 * can give, i.e. the scored tokens of a window are those after the previous window's end.
 */
export function slidingWindows(tokens: number, context: number, stride: number): Window[] {
  if (!(Number.isInteger(stride) && stride >= 1 && stride <= context)) {
    throw new RangeError(`sliding stride must be an integer in [1, ${context}], got ${stride}`);
  }
  const out: Window[] = [];
  let prevEnd = 0;
  for (let begin = 0; ; begin += stride) {
    const end = Math.min(begin + context, tokens);
    const firstScored = Math.max(prevEnd, begin + 1);
    if (end > firstScored) out.push({ start: begin, length: end - begin, firstTarget: firstScored - begin });
    prevEnd = end;
    if (end >= tokens) break;
  }
  return out;
}
