// A local HTTP server for the files of one folder, answering Range requests as a CDN does (206 + Content-Range), so
// the URL inputs of the evaluator run against real sockets on every runtime.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

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
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
    if (!m) {
      res.writeHead(200, { "content-length": body.length }).end(body);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(body.length - 1, m[2] ? Number(m[2]) : body.length - 1);
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { "content-range": `bytes ${start}-${end}/${body.length}`, "content-length": end - start + 1 }).end(body.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
