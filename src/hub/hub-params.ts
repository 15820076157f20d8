// The connection settings every hub call takes (the huggingface.js shape): hubUrl, accessToken, fetch, abortSignal.
// Resolved once from options and the environment (HF_ENDPOINT, HF_TOKEN).
import { registerSecret } from "./redact.ts";

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

/** Option first, then HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN) and HF_ENDPOINT. Registers the token for redaction. */
export function resolveHubParams(options: HubParams & { env?: Env } = {}): ResolvedHubParams {
  const env = options.env ?? process.env;
  const accessToken = options.accessToken || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  registerSecret(accessToken);
  const hubUrl = (options.hubUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, "");
  return { ...options, hubUrl, ...(accessToken && { accessToken }) };
}
