// The connection settings every hub call takes (the huggingface.js shape: hubUrl, accessToken, fetch, abortSignal,
// offline) and the checks on them that need no file system: what the browser entry publishes with. Reading them from
// the environment and the saved token is hub-params.ts's job.
import { HubError } from "./errors.ts";
import { defaultHubFetch } from "./retry-fetch.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface HubParams {
  hubUrl?: string;
  accessToken?: string;
  /** Used for every request; pass createRetryFetch(...) for retries and timeouts. */
  fetch?: typeof fetch;
  abortSignal?: AbortSignal;
  /**
   * No network (HF_HUB_OFFLINE): revisions resolve through the cache's refs, files come from its snapshots, and a
   * step that needs the hub fails with HubOfflineError.
   */
  offline?: boolean;
}

export interface ResolvedHubParams extends HubParams {
  hubUrl: string;
}

/**
 * Refuses a token that is not a Hugging Face one (they start with hf_; @huggingface/hub refuses any other with a
 * bare TypeError), naming where it came from and never the token itself.
 *
 * @example
 * assertHubToken(process.env.HF_TOKEN, "HF_TOKEN"); // HubError "HF_TOKEN: the token is not a Hugging Face token …" (exit 6)
 */
export function assertHubToken(token: string | undefined, from: string): void {
  if (token && !token.startsWith("hf_")) throw new HubError(from, "the token is not a Hugging Face token (they start with hf_): check --token or HF_TOKEN");
}

/**
 * A library entry point's params split into the settings it passes down and the rest. hubUrl and the token stay
 * as given (the environment is the CLI's business); every request of the call shares one fetch: the caller's, or
 * a retrying one bound to the abort signal.
 */
export function splitHubParams<T extends HubParams>(params: T): { hub: HubParams; rest: Omit<T, keyof HubParams> } {
  const { hubUrl, accessToken, fetch, abortSignal, offline, ...rest } = params;
  assertHubToken(accessToken, "accessToken");
  return { hub: { hubUrl, accessToken, fetch: defaultHubFetch({ fetch, abortSignal, offline }), abortSignal, offline }, rest };
}

/** The settings as @huggingface/hub calls take them: an absent token left out rather than passed as undefined. */
export function hubJsParams(p: HubParams): { hubUrl?: string; fetch?: typeof fetch; accessToken?: string } {
  return { hubUrl: p.hubUrl, fetch: p.fetch, ...(p.accessToken && { accessToken: p.accessToken }) };
}
