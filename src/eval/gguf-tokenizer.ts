// A GGUF's own vocabulary as a tokenizer that splits text as llama.cpp does (src/llama-vocab.cpp): user-defined
// tokens cut out first, then byte-level BPE ("gpt2" model, with the pre-tokenizer regex llama.cpp uses for the
// file's `tokenizer.ggml.pre`, run by @huggingface/tokenizers) or SentencePiece ("llama" model, spm-tokenizer.ts).
// Control tokens in the text are plain text, as in llama.cpp's tokenize without parse_special, and no BOS is added
// (the evaluation protocol).
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelFormatError } from "../core/errors.ts";
import { ggufNumberArray, ggufStringArray } from "../../converters/gguf/arrays.ts";
import type { GgufHeader } from "../../converters/gguf/read.ts";
import { partitionSpecial } from "./special-tokens.ts";
import { spmTokenize } from "./spm-tokenizer.ts";
import type { TextTokenizer } from "./tokenizer.ts";

/** llama.cpp's token types (LLAMA_TOKEN_TYPE_*). */
const USER_DEFINED = 4;
const BYTE = 6;

interface PreTokenizer {
  /** llama.cpp's regex for this group (the adapted form it compiles, not the tokenizer.json original). */
  regex: string;
  /** A whole pre-token found in the vocabulary is one token, merges or not (llama.cpp's ignore_merges). */
  ignoreMerges: boolean;
}

const GPT2: PreTokenizer = { regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", ignoreMerges: false };
const LLAMA3: PreTokenizer = {
  regex: "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ignoreMerges: true,
};
const QWEN2: PreTokenizer = {
  regex: "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ignoreMerges: false,
};

/** `tokenizer.ggml.pre` values and the llama.cpp pre-tokenizer type each selects. */
const PRE: Readonly<Record<string, PreTokenizer>> = {
  ...Object.fromEntries(["gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat", "a.x-4.0", "mellum"].map((p) => [p, GPT2])),
  ...Object.fromEntries(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"].map((p) => [p, LLAMA3])),
  ...Object.fromEntries(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2"].map((p) => [p, QWEN2])),
};

const str = (h: GgufHeader, key: string): string | undefined => {
  const v = h.metadata[key]?.value;
  return typeof v === "string" ? v : undefined;
};

/**
 * The tokenizer of a GGUF's `tokenizer.ggml.*` keys.
 *
 * @example
 * const tok = ggufTokenizer(source.header);
 * tok.encode("def f(x):"); // the ids llama.cpp's tokenize gives
 */
export function ggufTokenizer(h: GgufHeader): TextTokenizer {
  const model = str(h, "tokenizer.ggml.model");
  const tokens = ggufStringArray(h, "tokenizer.ggml.tokens");
  if (!tokens) throw new ModelFormatError(h.file, "tokenizer.ggml.tokens missing: the evaluator tokenizes with the GGUF's own vocabulary");
  const types = ggufNumberArray(h, "tokenizer.ggml.token_type") ?? [];
  const specials = tokens.flatMap((text, id) => (types[id] === USER_DEFINED ? [{ text, id }] : []));
  const raw = model === "gpt2" ? bpe(h, tokens) : model === "llama" ? spm(h, tokens, types) : undefined;
  if (!raw) throw new ModelFormatError(h.file, `tokenizer.ggml.model ${model ?? "(none)"} is not supported by the evaluator (byte-level BPE "gpt2" and SentencePiece "llama" are)`);
  return {
    encode(text) {
      // A raw piece follows the start or a special token: SentencePiece then adds its space prefix.
      let afterSpecial = true;
      return partitionSpecial(text, specials).flatMap((f) => {
        const ids = typeof f === "number" ? [f] : raw.encode(f, afterSpecial);
        afterSpecial = typeof f === "number";
        return ids;
      });
    },
    decode: (ids) => raw.decode(ids),
    vocabSize: tokens.length,
  };
}

interface RawTokenizer {
  encode(text: string, afterSpecial: boolean): number[];
  decode(ids: number[]): string;
}

function bpe(h: GgufHeader, tokens: string[]): RawTokenizer {
  const preName = str(h, "tokenizer.ggml.pre") ?? "(none)";
  const pre = PRE[preName];
  if (!pre) throw new ModelFormatError(h.file, `tokenizer.ggml.pre ${preName} is not supported by the evaluator (${Object.keys(PRE).join(", ")})`);
  const merges = ggufStringArray(h, "tokenizer.ggml.merges");
  if (!merges) throw new ModelFormatError(h.file, "tokenizer.ggml.merges missing (a BPE vocabulary needs its merges)");
  const json = {
    version: "1.0",
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: pre.regex }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges,
      ignore_merges: pre.ignoreMerges,
      byte_fallback: false,
      fuse_unk: false,
      unk_token: null,
    },
  };
  const tok = new Tokenizer(json, {});
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
  };
}

function spm(h: GgufHeader, tokens: string[], types: readonly number[]): RawTokenizer {
  const scores = ggufNumberArray(h, "tokenizer.ggml.scores");
  if (!scores) throw new ModelFormatError(h.file, "tokenizer.ggml.scores missing (a SentencePiece vocabulary needs its scores)");
  const prefix = h.metadata["tokenizer.ggml.add_space_prefix"]?.value;
  // llama.cpp's default for SentencePiece vocabularies is to prefix a space; the key overrides it (Gemma: false).
  const addSpacePrefix = typeof prefix === "boolean" ? prefix : true;
  const vocab = { ids: new Map(tokens.map((t, i) => [t, i])), scores };
  return {
    encode: (text, afterSpecial) => spmTokenize(((addSpacePrefix && afterSpecial ? " " : "") + text).replaceAll(" ", "\u2581"), vocab),
    decode(ids) {
      const bytes: number[] = [];
      const encoder = new TextEncoder();
      for (const id of ids) {
        const t = tokens[id] ?? "";
        if (types[id] === BYTE) bytes.push(parseInt(t.slice(3, 5), 16));
        else bytes.push(...encoder.encode(t.replaceAll("\u2581", " ")));
      }
      const text = new TextDecoder().decode(Uint8Array.from(bytes));
      return addSpacePrefix && text.startsWith(" ") ? text.slice(1) : text;
    },
  };
}
