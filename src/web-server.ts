// A small static file server on 127.0.0.1 for `yarnify web` (the page in web/dist) and the browser tests (the page and
// a model beside it): GET and HEAD, byte ranges (206, 416), nothing outside the folders it serves.
import { createReadStream, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

export interface WebServerParams {
  /** URL prefix (ending in "/") → folder served under it; "/" serves the page. */
  dirs: Record<string, string>;
  /** Port on 127.0.0.1; 0 (the default) takes any free one. */
  port?: number;
}

export interface WebServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The file a URL path names under one of the folders, or undefined (outside them, or no such file). */
function fileFor(dirs: Record<string, string>, pathname: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const prefix = Object.keys(dirs).filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
  if (prefix === undefined) return undefined;
  const root = normalize(dirs[prefix]);
  const rest = path.slice(prefix.length) || "index.html";
  const file = normalize(join(root, rest.endsWith("/") ? `${rest}index.html` : rest));
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** [start, end] (inclusive) of a single `bytes=` range over `size` bytes; null when unsatisfiable; undefined: no range. */
function byteRange(header: string | undefined, size: number): [number, number] | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") return size === 0 ? null : [Math.max(0, size - Number(m[2])), size - 1];
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start < size && start <= end ? [start, end] : null;
}

function serve(dirs: Record<string, string>, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const file = fileFor(dirs, new URL(req.url ?? "/", "http://127.0.0.1").pathname);
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  const size = statSync(file).size;
  const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "accept-ranges": "bytes", "cache-control": "no-store" };
  const range = byteRange(req.headers.range, size);
  if (range === null) {
    res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  res.writeHead(range ? 206 : 200, {
    ...headers,
    "content-length": String(Math.max(0, end - start + 1)),
    ...(range && { "content-range": `bytes ${start}-${end}/${size}` }),
  });
  if (req.method === "HEAD" || size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).on("error", () => res.destroy()).pipe(res);
}

/**
 * Serves folders on 127.0.0.1 until closed.
 *
 * @example
 * const server = await startWebServer({ dirs: { "/": "web/dist" } });
 * console.log(server.url); // http://127.0.0.1:41234/
 * await server.close();
 */
export function startWebServer(params: WebServerParams): Promise<WebServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => serve(params.dirs, req, res));
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(params.port ?? 0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
