// The connection settings every hub call takes (the huggingface.js shape): hubUrl, accessToken, fetch, abortSignal.
// Resolved once from options and the environment (HF_ENDPOINT, HF_TOKEN); every entry point and the CLI build
// them here.
import { registerSecret } from "./redact.ts";
import { createRetryFetch, defaultHubFetch, type RetryFetchOptions } from "./retry-fetch.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface HubParams {
  hubUrl?: string;
  accessToken?: string;
  /** Used for every request; pass createRetryFetch(...) for retries and timeouts. */
  fetch?: typeof fetch;
  abortSignal?: AbortSignal;
}

export interface ResolvedHubParams extends HubParams {
  hubUrl: string;
}

export type Env = Record<string, string | undefined>;

/**
 * Option first, then HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN) and HF_ENDPOINT. Registers the token for redaction.
 *
 * @example
 * const { hubUrl, accessToken } = resolveHubParams({ env: process.env });
 */
export function resolveHubParams(options: HubParams & { env?: Env } = {}): ResolvedHubParams {
  const env = options.env ?? process.env;
  const accessToken = options.accessToken || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  registerSecret(accessToken);
  const hubUrl = (options.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, "");
  return { ...options, hubUrl, ...(accessToken && { accessToken }) };
}

/**
 * The CLI's settings: --token and --hub-url, else the environment (resolveHubParams), with a retrying fetch bound
 * to the run's abort signal that reports each retry through onRetry.
 */
export function hubParamsFromOptions(
  options: { token?: string; hubUrl?: string },
  run: { env?: Env; abortSignal?: AbortSignal; onRetry?: RetryFetchOptions["onRetry"] } = {},
): ResolvedHubParams {
  const p = resolveHubParams({ accessToken: options.token, hubUrl: options.hubUrl, ...(run.env && { env: run.env }) });
  const fetch = createRetryFetch({ ...(run.abortSignal && { abortSignal: run.abortSignal }), ...(run.onRetry && { onRetry: run.onRetry }) });
  return { hubUrl: p.hubUrl, ...(p.accessToken && { accessToken: p.accessToken }), fetch, ...(run.abortSignal && { abortSignal: run.abortSignal }) };
}

/**
 * A library entry point's params split into the settings it passes down and the rest. hubUrl and the token stay
 * as given (the environment is the CLI's business); every request of the call shares one fetch: the caller's, or
 * a retrying one bound to the abort signal.
 */
export function splitHubParams<T extends HubParams>(params: T): { hub: HubParams; rest: Omit<T, keyof HubParams> } {
  const { hubUrl, accessToken, fetch, abortSignal, ...rest } = params;
  return { hub: { hubUrl, accessToken, fetch: defaultHubFetch({ fetch, abortSignal }), abortSignal }, rest };
}

/** The settings as @huggingface/hub calls take them: an absent token left out rather than passed as undefined. */
export function hubJsParams(p: HubParams): { hubUrl?: string; fetch?: typeof fetch; accessToken?: string } {
  return { hubUrl: p.hubUrl, fetch: p.fetch, ...(p.accessToken && { accessToken: p.accessToken }) };
}
