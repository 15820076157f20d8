// Typed errors of the hub layer. Messages are one line, name the repo or file, and never contain a token
// (every message goes through redactSecrets before it is stored).
import { HubApiError } from "@huggingface/hub";
import { type ErrorKind, YarnifyError } from "../core/errors.ts";
import { redactSecrets } from "./redact.ts";

/** Any failure talking to the hub (exit 6). */
export class HubError extends YarnifyError {
  override name = "HubError";
  override readonly kind: ErrorKind = "hub";
  constructor(file: string | undefined, problem: string, options?: { cause?: unknown }) {
    super(file === undefined ? undefined : redactSecrets(file), redactSecrets(problem), options);
  }
}

/** A source string that is neither `org/name[@rev][/path]` nor `hf://org/name[@rev][/path]`. */
export class HubSourceError extends HubError {
  override name = "HubSourceError";
}

/** A file name from a repo listing that would escape the local directory it is written to. */
export class UnsafeRepoPathError extends HubError {
  override name = "UnsafeRepoPathError";
}

/** The hub kept failing (429/5xx/network) after every retry, or asked us to wait longer than allowed. */
export class HubRetryError extends HubError {
  override name = "HubRetryError";
  constructor(file: string | undefined, problem: string, readonly status: number | undefined, options?: { cause?: unknown }) {
    super(file, problem, options);
  }
}

/** A download whose bytes do not match what the hub announced. */
export class HubDownloadError extends HubError {
  override name = "HubDownloadError";
}

/** A publish that cannot be done as asked (e.g. a pull request on a repo that does not exist). */
export class HubPublishError extends HubError {
  override name = "HubPublishError";
}

/** A hub response with an error status, with the hub's own message when it sent one and what to do about it. */
export class HubHttpError extends HubError {
  override name = "HubHttpError";
  constructor(file: string | undefined, problem: string, readonly status: number, options?: { cause?: unknown }) {
    super(file, problem, options);
  }
}

// What a user can do about each refusal; the hub's own message says what happened.
const STATUS_HINTS: Record<number, string> = {
  401: "check the repo name, and that --token or HF_TOKEN is a valid token that can see the repo (a private or gated repo needs one)",
  403: "the token may not do this: use a token with write access to the repo (https://huggingface.co/settings/tokens), accept a gated model's terms on its page, or open a pull request with --pr",
  404: "check the repo name, the revision and the file name",
  412: "the branch moved while publishing: run the command again",
};

/**
 * The problem text of an HTTP error status: the status, the hub's message, and what to do.
 *
 * @example
 * httpProblem(401, "Invalid credentials in Authorization header");
 * // "HTTP 401 Invalid credentials in Authorization header; check the repo name, and that --token or HF_TOKEN is …"
 */
export function httpProblem(status: number, hubMessage: string): string {
  const hint = STATUS_HINTS[status];
  return `HTTP ${status}${hubMessage ? ` ${hubMessage.split("\n")[0]}` : ""}${hint ? `; ${hint}` : ""}`;
}

/**
 * A @huggingface/hub HubApiError as a one-line HubHttpError about `what` (its URL trailer dropped, a hint added);
 * any other error is returned as it is.
 *
 * @example
 * try { await listFiles(...) } catch (err) { throw hubApiError(err, "org/model@main"); }
 */
export function hubApiError(err: unknown, what: string): unknown {
  if (!(err instanceof HubApiError)) return err;
  // The client appends ". URL: …. Request ID: …" to the hub's message; the file part of our line names the repo.
  const trailer = err.message.lastIndexOf(". URL: ");
  const hubMessage = (trailer >= 0 ? err.message.slice(0, trailer) : err.message).replace(/^Api error with status \d+$/, "");
  return new HubHttpError(what, httpProblem(err.statusCode, hubMessage), err.statusCode, { cause: err });
}

/** Throws HubHttpError for a failed response: "<what>: HTTP 404 Entry not found; check the repo name, …". */
export async function throwForResponse(res: Response, what: string): Promise<never> {
  let detail = "";
  try {
    const text = await res.text();
    try {
      const json = JSON.parse(text) as { error?: string; message?: string };
      detail = json.error ?? json.message ?? "";
    } catch {
      detail = text.slice(0, 200);
    }
  } catch {
    detail = "";
  }
  throw new HubHttpError(what, httpProblem(res.status, detail), res.status);
}

/** HF_HUB_OFFLINE is set and the cache cannot serve what was asked (exit 6). */
export class HubOfflineError extends HubError {
  override name = "HubOfflineError";
}
