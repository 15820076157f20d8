// Local HTTP servers (127.0.0.1 only) answering Range requests as a CDN does (206 + Content-Range): one serving a
// folder, so the evaluator's URL inputs run against real sockets on every runtime, and one serving a file that
// misbehaves on demand (no response headers, a closed connection, a body that stalls or drops part-way: the remote
// GGUF fault tests).
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";

/** The byte range a request asks of a file of `size` bytes: [start, end), the whole file without a Range header. */
function askedRange(header: string | undefined, size: number): { start: number; end: number } {
  const m = /bytes=(\d+)-(\d*)/.exec(header ?? "");
  return { start: m ? Number(m[1]) : 0, end: Math.min(size, m && m[2] !== "" ? Number(m[2]) + 1 : size) };
}

/** What the server does with one request: serve it, or one of the faults. */
export type RangeFault = "serve" | "stall-headers" | "drop" | "stall-body" | "drop-body";

export interface RangeRequest {
  /** The request's number, from 0. */
  index: number;
  /** The first byte and one past the last byte asked for (clipped to the file). */
  start: number;
  end: number;
}

export interface RangeServer {
  /** The file's URL. */
  url: string;
  requests: RangeRequest[];
  close(): Promise<void>;
}

/**
 * Serves `bytes` as `/<name>`; `fault` picks what happens to each request. A body fault sends the headers and half
 * the body (at most 64 KiB), then stops sending or closes the connection.
 */
export async function serveRanges(bytes: Uint8Array, name: string, fault: (r: RangeRequest) => RangeFault): Promise<RangeServer> {
  const requests: RangeRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const { start, end } = askedRange(req.headers.range, bytes.length);
    const r = { index: requests.length, start, end };
    requests.push(r);
    const what = fault(r);
    if (what === "stall-headers") return;
    if (what === "drop") return void req.socket.destroy();
    if (start >= bytes.length) {
      res.writeHead(416, { "content-range": `bytes */${bytes.length}` });
      return void res.end();
    }
    res.writeHead(206, { "content-range": `bytes ${start}-${end - 1}/${bytes.length}`, "content-length": String(end - start) });
    if (what === "serve") return void res.end(bytes.subarray(start, end));
    // The connection drops only once the half body has left this process: on a loaded machine a timer alone could
    // close it before any byte was sent, and the client would see no progress.
    res.write(bytes.subarray(start, start + Math.min(64 * 1024, Math.floor((end - start) / 2))), () => {
      if (what === "drop-body") setTimeout(() => res.socket?.destroy(), 20);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Serves `dir` on 127.0.0.1 while `fn` runs; `fn` gets the base URL (no trailing slash). */
export async function withRangeServer<T>(dir: string, fn: (base: string) => Promise<T>): Promise<T> {
  const server = createServer((req, res) => {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (!req.headers.range) {
      res.writeHead(200, { "content-length": body.length }).end(body);
      return;
    }
    const { start, end } = askedRange(req.headers.range, body.length);
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { "content-range": `bytes ${start}-${end - 1}/${body.length}`, "content-length": end - start }).end(body.subarray(start, end));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
