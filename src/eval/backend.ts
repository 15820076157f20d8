// What the evaluation tasks need from a forward pass, whichever device runs it: next-token NLLs of a window
// (perplexity), the logits of its rows (drift), and incremental decoding over a K/V cache (passkey).
import type { RopeFrequencies } from "../core/rope/types.ts";

export interface NllRequest {
  /** Token ids of one window; token i sits at RoPE position i. */
  tokens: Int32Array;
  rope: RopeFrequencies;
  /** First target index scored: the result holds NLL(tokens[i] | tokens[..i]) for i in [firstTarget, length). */
  firstTarget: number;
}

export interface LogitRowsRequest {
  /** Token ids of one window; token i sits at RoPE position i. */
  tokens: Int32Array;
  rope: RopeFrequencies;
  /** First row delivered: rows [firstRow, length) (row t is the distribution of token t + 1). */
  firstRow: number;
}

/** Receives `count` rows of logits [count, vocab] starting at `row`; the buffer is reused after the call returns. */
export type OnLogitRows = (row: number, count: number, logits: Float32Array) => void;

/**
 * One sequence being decoded: each append runs only the new tokens, attending to the cached keys and values of
 * the earlier ones (rotated at their absolute positions).
 */
export interface DecodeSession {
  /** Tokens held so far (the position of the next one appended). */
  readonly length: number;
  /** Feeds `tokens` at the next positions (a prefill, or one token) and returns the last one's logits [vocab]. */
  append(tokens: Int32Array): Promise<Float32Array>;
  /** Frees the cache. */
  release(): void;
}

export interface ForwardBackend {
  /** "cpu" or a description of the WebGPU adapter. */
  readonly name: string;
  nll(request: NllRequest): Promise<Float64Array>;
  /** Calls `onRows` with the logits of rows [firstRow, length), a bounded number of rows at a time. */
  logitRows(request: LogitRowsRequest, onRows: OnLogitRows): Promise<void>;
  /** A decoding session whose cache holds up to `capacity` tokens, every one at the RoPE `rope`. */
  decoder(rope: RopeFrequencies, capacity: number): Promise<DecodeSession>;
  release(): void;
}
