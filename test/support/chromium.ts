// Headless Chromium driven over the DevTools protocol, for the page's tests: Debian's `chromium` launched with
// --remote-debugging-pipe (the protocol's JSON messages on file descriptors 3 and 4, NUL-separated: what puppeteer's
// pipe transport does, with no WebSocket client needed on Node 20) and WebGPU on (SwiftShader where there is no GPU).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** The Chromium binary: $CHROMIUM, else the first of Debian's and the usual names that exists. */
export function findChromium(): string | undefined {
  const candidates = [process.env["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

type Params = Record<string, unknown>;
interface Message {
  id?: number;
  method?: string;
  params?: Params;
  sessionId?: string;
  result?: Params;
  error?: { message: string };
}

export interface Page {
  sessionId: string;
  /** A protocol command on this page's session. */
  send(method: string, params?: Params): Promise<Params>;
  /** An expression's value (promises awaited); a thrown exception rejects with its text. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy (its value), or rejects after `timeoutMs` with `what` and the last value. */
  waitFor<T>(expression: string, what: string, timeoutMs?: number): Promise<T>;
}

export interface Browser {
  /** A protocol command on the browser session. */
  send(method: string, params?: Params): Promise<Params>;
  /** Opens `url` in a new tab and waits for its load event. */
  open(url: string): Promise<Page>;
  /** Every event received so far (method and params), for tests that wait on one. */
  events: Message[];
  close(): Promise<void>;
}

export const CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan"];

/**
 * Launches headless Chromium with a throwaway profile.
 *
 * @example
 * const browser = await launchChromium(findChromium()!);
 * const page = await browser.open("http://127.0.0.1:8080/");
 * console.log(await page.evaluate<string>("document.title"));
 * await browser.close();
 */
export async function launchChromium(binary: string, extraFlags: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "yarnify-chromium-"));
  const child: ChildProcess = spawn(binary, [...CHROMIUM_FLAGS, ...extraFlags, "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--no-first-run", "--no-default-browser-check", "about:blank"], {
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
  });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pending = new Map<number, { resolve: (r: Params) => void; reject: (e: Error) => void }>();
  const events: Message[] = [];
  let nextId = 1;
  let buffered = "";
  let exited = false;
  fromBrowser.on("data", (d: Buffer) => {
    buffered += d.toString("utf8");
    for (let end = buffered.indexOf("\0"); end >= 0; end = buffered.indexOf("\0")) {
      const msg = JSON.parse(buffered.slice(0, end)) as Message;
      buffered = buffered.slice(end + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`DevTools: ${msg.error.message}`));
        else p?.resolve(msg.result ?? {});
      } else events.push(msg);
    }
  });
  child.on("exit", (code) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`chromium exited (${code}): ${stderr.trim().split("\n").slice(-5).join(" | ")}`));
    pending.clear();
  });
  const send = (method: string, params: Params = {}, sessionId?: string): Promise<Params> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`chromium has exited: ${stderr.trim().split("\n").slice(-5).join(" | ")}`));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }) + "\0");
    });
  await send("Browser.getVersion");

  const open = async (url: string): Promise<Page> => {
    const { targetId } = await send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = (await send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    const on = (method: string, params?: Params) => send(method, params, sessionId);
    await on("Page.enable");
    await on("Runtime.enable");
    const loaded = events.length;
    await on("Page.navigate", { url });
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = (await on("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as {
        result: { value?: T };
        exceptionDetails?: { text: string; exception?: { description?: string } };
      };
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
      return r.result.value as T;
    };
    const waitFor = async <T>(expression: string, what: string, timeoutMs = 30_000): Promise<T> => {
      const until = Date.now() + timeoutMs;
      let last: T | undefined;
      for (;;) {
        last = await evaluate<T>(expression);
        if (last) return last;
        if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const page: Page = { sessionId, send: on, evaluate, waitFor };
    const until = Date.now() + 30_000;
    while (!events.slice(loaded).some((e) => e.sessionId === sessionId && e.method === "Page.loadEventFired")) {
      if (Date.now() > until) throw new Error(`${url} did not load within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return page;
  };

  return {
    send: (method, params) => send(method, params),
    open,
    events,
    async close() {
      if (!exited) {
        const gone = new Promise((r) => child.once("exit", r));
        await send("Browser.close").catch(() => {});
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        if (!exited) child.kill("SIGKILL");
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
