// One figure of an evaluation: a method at a context length.
export interface PerplexityResult {
  method: string;
  context: number;
  perplexity: number;
  /** Tokens scored (over all documents). */
  tokens: number;
  /** Documents that contributed. */
  docs: number;
}
