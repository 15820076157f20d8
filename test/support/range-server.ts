// A local HTTP server (127.0.0.1 only) serving one file with Range requests, that misbehaves on demand: it sends no
// response headers, closes the connection without answering, or stalls or drops the connection part-way through a
// body (the remote GGUF fault tests).
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

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
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const end = Math.min(bytes.length, m && m[2] !== "" ? Number(m[2]) + 1 : bytes.length);
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
    res.write(bytes.subarray(start, start + Math.min(64 * 1024, Math.floor((end - start) / 2))));
    if (what === "drop-body") setTimeout(() => res.socket?.destroy(), 20);
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
