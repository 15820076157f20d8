// The connection settings every hub call takes (the huggingface.js shape): hubUrl, accessToken, fetch, abortSignal,
// and offline. Resolved once from options and the environment as huggingface_hub reads it (HF_ENDPOINT, HF_TOKEN,
// the token `hf auth login` saved, HF_HUB_OFFLINE); every entry point and the CLI build them here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Env, hfHome } from "./hf-home.ts";
import { offlineFetch } from "./offline-fetch.ts";
import { registerSecret } from "./redact.ts";
import { createRetryFetch, defaultHubFetch, type RetryFetchOptions } from "./retry-fetch.ts";

export type { Env };

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
 * Option first, then HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), then the token `hf auth login` saved
 * ($HF_TOKEN_PATH, else $HF_HOME/token); HF_ENDPOINT; HF_HUB_OFFLINE. Registers the token for redaction.
 *
 * @example
 * const { hubUrl, accessToken, offline } = resolveHubParams({ env: process.env });
 */
export function resolveHubParams(options: HubParams & { env?: Env } = {}): ResolvedHubParams {
  const env = options.env ?? process.env;
  const accessToken = options.accessToken || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || savedToken(env) || undefined;
  registerSecret(accessToken);
  const hubUrl = (options.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, "");
  const offline = options.offline ?? isTrue(env.HF_HUB_OFFLINE);
  return { ...options, hubUrl, ...(accessToken && { accessToken }), ...(offline && { offline }) };
}

/** The token file `hf auth login` writes (huggingface_hub reads it with surrounding whitespace stripped). */
function savedToken(env: Env): string | undefined {
  try {
    return readFileSync(env.HF_TOKEN_PATH || join(hfHome(env), "token"), "utf8").trim() || undefined;
  } catch {
    return undefined; // not logged in
  }
}

/** huggingface_hub's reading of a boolean variable: "1", "ON", "YES" or "TRUE", in any case. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "ON", "YES", "TRUE"].includes(value.trim().toUpperCase());
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
  const fetch = p.offline ? offlineFetch() : createRetryFetch({ ...(run.abortSignal && { abortSignal: run.abortSignal }), ...(run.onRetry && { onRetry: run.onRetry }) });
  return {
    hubUrl: p.hubUrl,
    ...(p.accessToken && { accessToken: p.accessToken }),
    fetch,
    ...(run.abortSignal && { abortSignal: run.abortSignal }),
    ...(p.offline && { offline: true }),
  };
}

/**
 * A library entry point's params split into the settings it passes down and the rest. hubUrl and the token stay
 * as given (the environment is the CLI's business); every request of the call shares one fetch: the caller's, or
 * a retrying one bound to the abort signal.
 */
export function splitHubParams<T extends HubParams>(params: T): { hub: HubParams; rest: Omit<T, keyof HubParams> } {
  const { hubUrl, accessToken, fetch, abortSignal, offline, ...rest } = params;
  return { hub: { hubUrl, accessToken, fetch: defaultHubFetch({ fetch, abortSignal, offline }), abortSignal, offline }, rest };
}

/** The settings as @huggingface/hub calls take them: an absent token left out rather than passed as undefined. */
export function hubJsParams(p: HubParams): { hubUrl?: string; fetch?: typeof fetch; accessToken?: string } {
  return { hubUrl: p.hubUrl, fetch: p.fetch, ...(p.accessToken && { accessToken: p.accessToken }) };
}
