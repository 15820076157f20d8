// The connection settings every hub call takes (the huggingface.js shape): hubUrl, accessToken, fetch, abortSignal,
// and offline. Resolved once from options and the environment as huggingface_hub reads it (HF_ENDPOINT, HF_TOKEN,
// the token `hf auth login` saved, HF_HUB_OFFLINE); every entry point and the CLI build them here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertHubToken, DEFAULT_HUB_URL, type HubParams, type ResolvedHubParams } from "./hub-settings.ts";
import { type Env, hfHome } from "./hf-home.ts";
import { offlineFetch } from "./offline-fetch.ts";
import { registerSecret } from "./redact.ts";
import { createRetryFetch, type RetryFetchOptions } from "./retry-fetch.ts";

export type { Env };
export { assertHubToken, DEFAULT_HUB_URL, hubJsParams, splitHubParams } from "./hub-settings.ts";
export type { HubParams, ResolvedHubParams } from "./hub-settings.ts";

/**
 * Option first, then HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), then the token `hf auth login` saved
 * ($HF_TOKEN_PATH, else $HF_HOME/token); HF_ENDPOINT; HF_HUB_OFFLINE. Registers the token for redaction, and
 * refuses one that is not a Hugging Face token, naming where it came from.
 *
 * @example
 * resolveHubParams({ env: { HF_TOKEN: "hf_abc", HF_ENDPOINT: "http://127.0.0.1:8080/" } });
 * // { hubUrl: "http://127.0.0.1:8080", accessToken: "hf_abc", env: … }
 */
export function resolveHubParams(options: HubParams & { env?: Env } = {}): ResolvedHubParams {
  const env = options.env ?? process.env;
  const [accessToken, from] = options.accessToken
    ? [options.accessToken, "accessToken"]
    : env.HF_TOKEN
      ? [env.HF_TOKEN, "HF_TOKEN"]
      : env.HUGGING_FACE_HUB_TOKEN
        ? [env.HUGGING_FACE_HUB_TOKEN, "HUGGING_FACE_HUB_TOKEN"]
        : savedToken(env);
  registerSecret(accessToken);
  assertHubToken(accessToken, from);
  const hubUrl = (options.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, "");
  const offline = options.offline ?? isTrue(env.HF_HUB_OFFLINE);
  return { ...options, hubUrl, ...(accessToken && { accessToken }), ...(offline && { offline }) };
}

/**
 * The token file `hf auth login` writes (huggingface_hub reads it with surrounding whitespace stripped), and the
 * file's path to name it by.
 */
function savedToken(env: Env): [string | undefined, string] {
  const path = env.HF_TOKEN_PATH || join(hfHome(env), "token");
  try {
    return [readFileSync(path, "utf8").trim() || undefined, path];
  } catch {
    return [undefined, path]; // not logged in
  }
}

/** huggingface_hub's reading of a boolean variable: "1", "ON", "YES" or "TRUE", in any case. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "ON", "YES", "TRUE"].includes(value.trim().toUpperCase());
}

/**
 * The CLI's settings: --token and --hub-url, else the environment (resolveHubParams), with a retrying fetch bound
 * to the run's abort signal that reports each retry through onRetry (and, with `retry.limiter`, keeps the hub's
 * rate limits).
 */
export function hubParamsFromOptions(
  options: { token?: string; hubUrl?: string },
  run: { env?: Env; abortSignal?: AbortSignal; onRetry?: RetryFetchOptions["onRetry"]; retry?: Pick<RetryFetchOptions, "limiter" | "maxRetryAfterMs"> } = {},
): ResolvedHubParams {
  assertHubToken(options.token, "--token");
  const p = resolveHubParams({ accessToken: options.token, hubUrl: options.hubUrl, ...(run.env && { env: run.env }) });
  const fetch = p.offline
    ? offlineFetch()
    : createRetryFetch({ ...run.retry, ...(run.abortSignal && { abortSignal: run.abortSignal }), ...(run.onRetry && { onRetry: run.onRetry }) });
  return {
    hubUrl: p.hubUrl,
    ...(p.accessToken && { accessToken: p.accessToken }),
    fetch,
    ...(run.abortSignal && { abortSignal: run.abortSignal }),
    ...(p.offline && { offline: true }),
  };
}

