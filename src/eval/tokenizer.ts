// The model's own tokenizer.json through @huggingface/tokenizers. Evaluation feeds raw text without a BOS,
// as the reference protocol does, so special tokens are never added here.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelFormatError } from "../core/errors.ts";

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  vocabSize: number;
}

/**
 * Loads `<dir>/tokenizer.json` (and tokenizer_config.json when present).
 *
 * @example
 * const tok = loadTokenizer("./tiny-llama");
 * console.log(tok.encode("Hello world"));
 */
export function loadTokenizer(dir: string): TextTokenizer {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) throw new ModelFormatError(dir, "tokenizer.json not found (evaluation needs the model's tokenizer)");
  const json = readJson(file);
  const configFile = join(dir, "tokenizer_config.json");
  const config = existsSync(configFile) ? readJson(configFile) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (err) {
    throw new ModelFormatError(file, `tokenizer not supported by @huggingface/tokenizers: ${(err as Error).message.split("\n")[0]}`);
  }
  const vocab = (json as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] });
  const ids = [...Object.values(vocab.model?.vocab ?? {}), ...(vocab.added_tokens ?? []).map((t) => t.id)];
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    vocabSize: ids.length === 0 ? 0 : Math.max(...ids) + 1,
  };
}

/**
 * The first `count` tokens of `text`, tokenizing only a prefix of it: long documents (hundreds of KB)
 * would otherwise cost seconds each. A prefix is trusted once it yields `count + 64` tokens, so the cut
 * (which can split the last pre-token) lies well past the tokens kept.
 */
export function firstTokens(tok: TextTokenizer, text: string, count: number): number[] {
  let chars = Math.max(1024, count * 8);
  for (;;) {
    if (chars >= text.length) return tok.encode(text).slice(0, count);
    const ids = tok.encode(text.slice(0, chars));
    if (ids.length >= count + 64) return ids.slice(0, count);
    chars *= 2;
  }
}

function readJson(file: string): object {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as object;
  } catch (err) {
    throw new ModelFormatError(file, `cannot read JSON: ${(err as Error).message.split("\n")[0]}`);
  }
}
