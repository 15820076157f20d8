// llama.cpp's first tokenization step (tokenizer_st_partition): the text is cut at every occurrence of each special
// token, longest tokens first, before the vocabulary's algorithm runs on the pieces in between. Without
// parse_special (the evaluation's case) only user-defined tokens are cut out; control and unknown ones stay text.

/** A piece of text for the tokenizer, or a token id already decided. */
export type Fragment = string | number;

/**
 * The text as raw pieces and the ids of `specials` found in it, in order.
 *
 * @example
 * partitionSpecial("a<tab>b", [{ text: "<tab>", id: 7 }]); // ["a", 7, "b"]
 */
export function partitionSpecial(text: string, specials: readonly { text: string; id: number }[]): Fragment[] {
  let fragments: Fragment[] = text === "" ? [] : [text];
  // llama.cpp sorts its special-token cache by length, longest first (a stable order for equal lengths).
  const ordered = [...specials].filter((s) => s.text !== "").sort((a, b) => b.text.length - a.text.length);
  for (const s of ordered) {
    fragments = fragments.flatMap((f) => {
      if (typeof f !== "string" || !f.includes(s.text)) return [f];
      const out: Fragment[] = [];
      f.split(s.text).forEach((piece, i) => {
        if (i > 0) out.push(s.id);
        if (piece !== "") out.push(piece);
      });
      return out;
    });
  }
  return fragments;
}
