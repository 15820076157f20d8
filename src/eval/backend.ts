// What the perplexity protocol needs from a forward pass, whichever device runs it.
import type { RopeFrequencies } from "../core/rope/types.ts";

export interface NllRequest {
  /** Token ids of one window; token i sits at RoPE position i. */
  tokens: Int32Array;
  rope: RopeFrequencies;
  /** First target index scored: the result holds NLL(tokens[i] | tokens[..i]) for i in [firstTarget, length). */
  firstTarget: number;
}

export interface ForwardBackend {
  /** "cpu" or a description of the WebGPU adapter. */
  readonly name: string;
  nll(request: NllRequest): Promise<Float64Array>;
  release(): void;
}
