// A fetch that retries 429, 5xx and dropped connections with exponential backoff, honours Retry-After,
// times out a request that sends no response headers, and aborts everything on one signal (Ctrl-C).
// Request bodies that are Blob subclasses (the remote and spliced blobs of @huggingface/hub) are read
// through their own methods, because Bun's fetch sends such blobs as empty bodies (checked with Bun 1.4.5).
import { HubRetryError } from "./errors.ts";
import { offlineFetch } from "./offline-fetch.ts";
import { redactSecrets } from "./redact.ts";
import { runtimeName } from "../core/runtime.ts";

export interface RetryEvent {
  method: string;
  /** URL without query string, redacted. */
  url: string;
  attempt: number;
  status?: number;
  error?: string;
  delayMs: number;
}

/** Keeps the hub's rate limits across every request of a run (src/hub/hub-rate-limiter.ts implements it). */
export interface RequestLimiter {
  /** Resolves when the request may go: waits while its windows are full or the hub asked to wait. */
  acquire(method: string, url: string, signal?: AbortSignal): Promise<void>;
  /** Learns from the answer: a 429's Retry-After, or a RateLimit header saying nothing is left. */
  observe(method: string, url: string, response: Response): void;
}

export interface RetryFetchOptions {
  fetch?: typeof fetch;
  /** Retries after the first attempt. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest Retry-After we wait for; a longer one fails at once with HubRetryError. */
  maxRetryAfterMs?: number;
  /** Time allowed until response headers arrive, per attempt, plus the body's size at minUploadBytesPerSecond. */
  timeoutMs?: number;
  minUploadBytesPerSecond?: number;
  abortSignal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** Custom blob bodies up to this size are buffered (so Content-Length is exact); bigger ones are streamed. */
  bufferBodiesBelow?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Consulted before each attempt (outside its timeout) and told of each answer. */
  limiter?: RequestLimiter;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("Aborted", "AbortError");
}

export function sleepWithSignal(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Milliseconds from a Retry-After header (delta seconds or an HTTP date), or undefined.
 *
 * @example
 * parseRetryAfter("120"); // 120000
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isNativeBlob(body: Blob): boolean {
  const proto = Object.getPrototypeOf(body);
  return proto === Blob.prototype || (typeof File !== "undefined" && proto === File.prototype);
}

async function prepareBody(init: RequestInit | undefined, bufferBelow: number): Promise<RequestInit | undefined> {
  const body = init?.body;
  if (!(body instanceof Blob) || isNativeBlob(body)) return init;
  const headers = new Headers(init!.headers);
  if (body.size < bufferBelow) return { ...init, headers, body: new Uint8Array(await body.arrayBuffer()) };
  // Node and Deno read a Blob subclass through its stream() and send its size; Bun needs a stream, and
  // honours an explicit Content-Length for it (an upload URL rejects chunked bodies).
  if (runtimeName() !== "bun") return init;
  headers.set("Content-Length", String(body.size));
  return { ...init, headers, body: body.stream(), duplex: "half" } as RequestInit;
}

type DenoHttpClient = { close(): void };
let unpooledClient: DenoHttpClient | undefined;

/**
 * Deno's fetch sends a request again by itself when a reused connection drops before the answer comes (seen with
 * Deno 2.9.6: a pull request opened twice); on a fresh connection it does not. Deno only: a client that keeps no
 * idle connection, made once, so each request it sends opens its own. Undefined on other runtimes.
 */
function unpooledDenoClient(): DenoHttpClient | undefined {
  const deno = (globalThis as { Deno?: { createHttpClient?: (o: { poolMaxIdlePerHost: number }) => DenoHttpClient } }).Deno;
  unpooledClient ??= deno?.createHttpClient?.({ poolMaxIdlePerHost: 0 });
  return unpooledClient;
}

function requestUrl(input: RequestInfo | URL): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

/**
 * A fetch that retries 429 and 5xx answers and dropped connections with backoff (honouring Retry-After) and times out attempts that hang.
 *
 * @example
 * const fetch = createRetryFetch({ retries: 5, onRetry: (e) => console.error(`retry ${e.attempt} in ${e.delayMs} ms`) });
 * await patchHub({ source: "org/name", factor: 4, pr: true, fetch });
 */
export function createRetryFetch(options: RetryFetchOptions = {}): typeof fetch {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 5;
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const maxRetryAfter = options.maxRetryAfterMs ?? 120_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const bufferBelow = options.bufferBodiesBelow ?? 64 * 1024 * 1024;
  const minRate = options.minUploadBytesPerSecond ?? 256 * 1024;
  const sleep = options.sleep ?? sleepWithSignal;
  const random = options.random ?? Math.random;

  const retryFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const shownUrl = redactSecrets(requestUrl(input).split("?")[0]);
    // Opening a pull request is not idempotent: after a 5xx or a lost response the hub may have opened it, and a
    // retry would open a second one. Only a 429 (refused before any work) is retried.
    const opensPullRequest = method === "POST" && /[?&]create_pr=1(&|$)/.test(requestUrl(input));
    const client = opensPullRequest ? unpooledDenoClient() : undefined;
    const bodySize = init?.body instanceof Blob ? init.body.size : init?.body instanceof Uint8Array ? init.body.byteLength : 0;
    // An upload sends its whole body before the response headers can come, so big bodies get more time.
    const attemptTimeout = timeoutMs + Math.round((bodySize / minRate) * 1000);
    const signals = [options.abortSignal, init?.signal ?? undefined].filter((s): s is AbortSignal => !!s);
    for (let attempt = 0; ; attempt++) {
      const outer = signals.length > 0 ? AbortSignal.any(signals) : undefined;
      if (outer?.aborted) throw abortError(outer);
      // A wait for the hub's limits is not the attempt's: its timeout starts once the request may go.
      await options.limiter?.acquire(method, requestUrl(input), outer);
      const attemptController = new AbortController();
      const onOuterAbort = () => attemptController.abort(outer!.reason);
      outer?.addEventListener("abort", onOuterAbort, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attemptController.abort(new DOMException("timeout", "TimeoutError"));
      }, attemptTimeout);
      let response: Response | undefined;
      let failure: unknown;
      try {
        const prepared = await prepareBody(init, bufferBelow);
        response = await baseFetch(input, { ...prepared, signal: attemptController.signal, ...(client && { client }) });
      } catch (err) {
        failure = err;
      } finally {
        clearTimeout(timer);
      }
      if (outer?.aborted) {
        outer.removeEventListener("abort", onOuterAbort);
        await response?.body?.cancel().catch(() => undefined);
        throw abortError(outer);
      }
      if (response) options.limiter?.observe(method, requestUrl(input), response);
      // The attempt's controller stays attached while the body is read; detach only when we give up on this response.
      const status = response?.status;
      const retryable = opensPullRequest ? status === 429 : failure !== undefined || (status !== undefined && RETRY_STATUS.has(status));
      const reason = failure !== undefined ? (timedOut ? `no response within ${attemptTimeout} ms` : redactSecrets(String((failure as Error)?.message ?? failure))) : `HTTP ${status}`;
      if (!retryable && failure !== undefined) {
        outer?.removeEventListener("abort", onOuterAbort);
        throw new HubRetryError(`${method} ${shownUrl}`, `${reason}; not retried: the pull request may have been opened, check the repo's pull requests before running again`, undefined, { cause: failure });
      }
      if (!retryable) return response!;
      const retryAfter = parseRetryAfter(response?.headers.get("Retry-After") ?? null);
      await response?.body?.cancel().catch(() => undefined);
      outer?.removeEventListener("abort", onOuterAbort);
      if (retryAfter !== undefined && retryAfter > maxRetryAfter) {
        throw new HubRetryError(`${method} ${shownUrl}`, `hub asked to retry after ${Math.round(retryAfter / 1000)} s (more than the ${Math.round(maxRetryAfter / 1000)} s allowed)`, status);
      }
      if (attempt >= retries) {
        throw new HubRetryError(`${method} ${shownUrl}`, `${reason} after ${attempt + 1} attempts`, status, { cause: failure });
      }
      const backoff = Math.min(maxDelay, baseDelay * 2 ** attempt) * (0.5 + random() / 2);
      const delayMs = Math.max(retryAfter ?? 0, Math.round(backoff));
      options.onRetry?.({ method, url: shownUrl, attempt: attempt + 1, ...(status !== undefined && { status }), ...(failure !== undefined && { error: reason }), delayMs });
      await sleep(delayMs, outer);
    }
  };
  return retryFetch as typeof fetch;
}

/**
 * Wraps any fetch so Blob-subclass request bodies are sent correctly on every runtime. publishIter applies it
 * to the fetch it is given, so a caller's plain fetch works under Bun too.
 */
export function fetchWithBlobBodies(baseFetch: typeof fetch, bufferBelow = 64 * 1024 * 1024): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => baseFetch(input, await prepareBody(init, bufferBelow))) as typeof fetch;
}

/** The fetch an entry point uses: offline, one that refuses every request; else the caller's, or a retrying one bound to the abort signal. */
export function defaultHubFetch(params: { fetch?: typeof fetch; abortSignal?: AbortSignal; offline?: boolean }): typeof fetch {
  if (params.offline) return offlineFetch();
  return params.fetch ?? createRetryFetch(params.abortSignal ? { abortSignal: params.abortSignal } : {});
}
