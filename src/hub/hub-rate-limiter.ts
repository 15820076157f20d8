// The hub's published limits, kept by the client so that a large batch slows down instead of failing: hub API
// requests (1000 per 5-minute window for a free user's token), file downloads (/resolve/, 5000 per 5 minutes)
// and commits (128 per hour per repository, the hub's message for a 429 on /commit/ says). One limiter is shared by
// every request of a run, whatever the concurrency; a 429's Retry-After (or the RateLimit header's reset) pauses
// every request of that kind, not only the one refused. Sources: https://huggingface.co/docs/hub/rate-limits
// (API 1,000 / Resolvers 5,000 per 5-minute window for a free user; RateLimit: "api";r=<left>;t=<seconds>).
import { parseRetryAfter, type RequestLimiter, sleepWithSignal } from "./retry-fetch.ts";

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export interface HubRateLimits {
  /** Hub API requests (/api/..., LFS batch) per window, for the token. */
  api: RateLimit;
  /** File downloads (/resolve/) per window. */
  resolvers: RateLimit;
  /** Commits per window to one repository. */
  commitsPerRepo: RateLimit;
}

/** A free user's limits (Sept. 2025); PRO tokens have 2,500 API requests per 5 minutes. */
export const HUB_RATE_LIMITS: HubRateLimits = {
  api: { limit: 1000, windowMs: 5 * 60_000 },
  resolvers: { limit: 5000, windowMs: 5 * 60_000 },
  commitsPerRepo: { limit: 128, windowMs: 60 * 60_000 },
};

/** Time, injectable so tests run an hour of limits in no time. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface RateLimitWait {
  /** "api", "resolvers" or "commits me/name". */
  bucket: string;
  waitMs: number;
  /** "limit": the window is full; "hub": the hub said to wait (429 Retry-After, RateLimit reset). */
  reason: "limit" | "hub";
}

export interface HubRateLimiterOptions {
  limits?: Partial<HubRateLimits>;
  clock?: Clock;
  onWait?: (e: RateLimitWait) => void;
}

export interface HubRateLimiter extends RequestLimiter {
  /** A fetch that acquires before each request and observes each answer (for requests with no retry layer). */
  wrap(base: typeof fetch): typeof fetch;
  /** Requests granted so far, per bucket. */
  granted(): Record<string, number>;
}

interface Bucket {
  name: string;
  rate: RateLimit;
  /** Grant times within the current window, oldest first. */
  grants: number[];
  /** The hub asked to wait until then. */
  pausedUntil: number;
  total: number;
}

const COMMIT = /^\/api\/(?:models|datasets|spaces)\/([^/]+\/[^/]+)\/commit\//;

/** The hub's header names its buckets as we do, except that we keep commits apart. */
function rateLimitHeader(value: string | null): { bucket: string; left: number; resetSeconds: number } | undefined {
  const m = value && /"?([a-z]+)"?\s*;\s*r=(\d+)\s*;\s*t=(\d+)/i.exec(value);
  return m ? { bucket: m[1].toLowerCase(), left: Number(m[2]), resetSeconds: Number(m[3]) } : undefined;
}

/**
 * A limiter shared by every hub request of a run: a sliding window per bucket (never more than `limit` grants in
 * any `windowMs`), so the hub's fixed windows are never exceeded either.
 *
 * @example
 * const limiter = createHubRateLimiter({ limits: { api: { limit: 2500, windowMs: 300_000 } } });
 * const fetch = createRetryFetch({ limiter, maxRetryAfterMs: 3_600_000 });
 */
export function createHubRateLimiter(options: HubRateLimiterOptions = {}): HubRateLimiter {
  const limits = { ...HUB_RATE_LIMITS, ...options.limits };
  const clock: Clock = options.clock ?? { now: () => Date.now(), sleep: sleepWithSignal };
  const buckets = new Map<string, Bucket>();
  const bucket = (name: string, rate: RateLimit): Bucket => {
    let b = buckets.get(name);
    if (!b) buckets.set(name, (b = { name, rate, grants: [], pausedUntil: 0, total: 0 }));
    return b;
  };
  /** The buckets a request counts against, most specific first; none for requests that are not the hub's. */
  const bucketsOf = (method: string, url: string): Bucket[] => {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return [];
    }
    if (path.includes("/resolve/")) return [bucket("resolvers", limits.resolvers)];
    if (!path.startsWith("/api/") && !path.endsWith(".git/info/lfs/objects/batch")) return [];
    const commit = method === "POST" ? COMMIT.exec(path) : null;
    return commit ? [bucket(`commits ${commit[1]}`, limits.commitsPerRepo), bucket("api", limits.api)] : [bucket("api", limits.api)];
  };
  const pause = (b: Bucket, ms: number) => {
    b.pausedUntil = Math.max(b.pausedUntil, clock.now() + ms);
  };

  const limiter: HubRateLimiter = {
    async acquire(method, url, signal) {
      const mine = bucketsOf(method, url);
      for (;;) {
        const now = clock.now();
        let wait = 0;
        let reason: RateLimitWait["reason"] = "limit";
        let waitingOn = "";
        for (const b of mine) {
          while (b.grants.length > 0 && b.grants[0] <= now - b.rate.windowMs) b.grants.shift();
          const full = b.grants.length >= b.rate.limit ? b.grants[0] + b.rate.windowMs - now : 0;
          const paused = b.pausedUntil - now;
          if (Math.max(full, paused) > wait) [wait, reason, waitingOn] = [Math.max(full, paused), paused > full ? "hub" : "limit", b.name];
        }
        // Grant every bucket at once, with no await in between: concurrent requests see each other's grants.
        if (wait <= 0) {
          for (const b of mine) {
            b.grants.push(now);
            b.total++;
          }
          return;
        }
        options.onWait?.({ bucket: waitingOn, waitMs: wait, reason });
        await clock.sleep(wait, signal);
      }
    },
    observe(method, url, response) {
      const mine = bucketsOf(method, url);
      if (mine.length === 0) return;
      // The hub's RateLimit header names the bucket that is spent; a bare 429 pauses the request's most specific
      // one (a commit's repository rather than every API request).
      const header = rateLimitHeader(response.headers.get("RateLimit"));
      const named = header?.left === 0 ? mine.find((b) => b.name === header.bucket) : undefined;
      if (named) return pause(named, header!.resetSeconds * 1000);
      const retryAfter = response.status === 429 ? parseRetryAfter(response.headers.get("Retry-After"), clock.now()) : undefined;
      if (retryAfter !== undefined) pause(mine[0], retryAfter);
    },
    wrap(base) {
      return (async (input: RequestInfo | URL, init?: RequestInit) => {
        const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        await limiter.acquire(method, url, init?.signal ?? undefined);
        const response = await base(input, init);
        limiter.observe(method, url, response);
        return response;
      }) as typeof fetch;
    },
    granted() {
      return Object.fromEntries([...buckets.values()].map((b) => [b.name, b.total]));
    },
  };
  return limiter;
}
