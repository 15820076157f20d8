// llama.cpp's SentencePiece tokenizer (llm_tokenizer_spm_session in src/llama-vocab.cpp) for GGUF vocabularies of
// tokenizer.ggml.model "llama" (Llama 2, Mistral, Gemma, Phi-3): spaces become "▁", then the adjacent pair whose
// merge is a token with the highest score merges first (leftmost among equals) until none can; what is left that is
// no token is re-split along the merges that formed it, and characters outside the vocabulary become <0xXX> bytes.

/** A heap of candidate merges, best (highest score, then leftmost) on top. */
class MergeQueue {
  private readonly items: { left: number; right: number; score: number; size: number }[] = [];
  private better(a: number, b: number): boolean {
    const x = this.items[a]!, y = this.items[b]!;
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
  private swap(a: number, b: number): void {
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
  get size(): number {
    return this.items.length;
  }
  push(item: { left: number; right: number; score: number; size: number }): void {
    this.items.push(item);
    for (let i = this.items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.better(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): { left: number; right: number; score: number; size: number } {
    const top = this.items[0]!;
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < this.items.length && this.better(l, best)) best = l;
        if (r < this.items.length && this.better(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

export interface SpmVocab {
  /** Token text → id (the last id wins for a repeated text, as in llama.cpp's token_to_id). */
  ids: Map<string, number>;
  scores: readonly number[];
}

/** A symbol: [start, start + n) of the text, linked to its neighbours; n = 0 once merged into the left one. */
interface Symbol {
  start: number;
  n: number;
  prev: number;
  next: number;
}

/**
 * Token ids of one raw fragment (already "▁"-escaped) as llama.cpp's SPM session produces them.
 *
 * @example
 * spmTokenize("▁def▁f", vocab); // e.g. [893, 285]
 */
export function spmTokenize(text: string, vocab: SpmVocab): number[] {
  // One symbol per code point (llama.cpp splits UTF-8 characters).
  const symbols: Symbol[] = [];
  for (let at = 0; at < text.length; ) {
    const n = text.codePointAt(at)! > 0xffff ? 2 : 1;
    symbols.push({ start: at, n, prev: symbols.length - 1, next: at + n >= text.length ? -1 : symbols.length + 1 });
    at += n;
  }
  const queue = new MergeQueue();
  const revMerge = new Map<string, [number, number]>();
  const textOf = (s: Symbol) => text.slice(s.start, s.start + s.n);
  const tryAdd = (left: number, right: number) => {
    if (left === -1 || right === -1) return;
    const merged = text.slice(symbols[left]!.start, symbols[left]!.start + symbols[left]!.n + symbols[right]!.n);
    const id = vocab.ids.get(merged);
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id]!, size: merged.length });
    revMerge.set(merged, [left, right]);
  };
  for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
  while (queue.size > 0) {
    const b = queue.pop();
    const l = symbols[b.left]!, r = symbols[b.right]!;
    // Stale: one side was merged since this pair was queued.
    if (l.n === 0 || r.n === 0 || l.n + r.n !== b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next]!.prev = b.left;
    tryAdd(l.prev, b.left);
    tryAdd(b.left, l.next);
  }
  const out: number[] = [];
  const encoder = new TextEncoder();
  const resegment = (s: Symbol): void => {
    const piece = textOf(s);
    const id = vocab.ids.get(piece);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    const parts = revMerge.get(piece);
    if (parts) {
      resegment(symbols[parts[0]]!);
      resegment(symbols[parts[1]]!);
      return;
    }
    for (const byte of encoder.encode(piece)) {
      const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
      const byteId = vocab.ids.get(hex) ?? vocab.ids.get(String.fromCharCode(byte));
      if (byteId === undefined) throw new RangeError(`byte ${hex} has no token`);
      out.push(byteId);
    }
  };
  for (let i = 0; i !== -1 && symbols.length > 0; i = symbols[i]!.next) resegment(symbols[i]!);
  return out;
}
