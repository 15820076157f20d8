// The one way a plain function runs its `…Iter` twin: every event goes to `onEvent`, the generator's return value
// is the result (huggingface.js's commit() drains commitIter() the same way).

/**
 * Runs an async generator to its end and returns what it returns.
 *
 * @example
 * export const patchGguf = (params: PatchGgufParams) => drain(patchGgufIter(params));
 */
export async function drain<E, R>(it: AsyncGenerator<E, R>, onEvent?: (e: E) => void): Promise<R> {
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    onEvent?.(r.value);
  }
}
