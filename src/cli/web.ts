// `yarnify web [--port N]`: serves the page (web/dist, built by `npm run build:web`) on 127.0.0.1 and prints its URL,
// until interrupted.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { YarnifyError } from "../core/errors.ts";
import { startWebServer } from "../web-server.ts";
import type { Command } from "./command.ts";
import { print } from "./io.ts";

type WebOptions = { port?: string | number };

/** web/dist of this installation: from the sources, the tsc build or the CLI bundle alike, the nearest one upwards. */
export function pageDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const page = join(dir, "web", "dist");
    if (existsSync(join(page, "index.html"))) return page;
    if (dirname(dir) === dir) return undefined;
  }
}

export const webCommand: Command<WebOptions> = {
  usage: "web",
  description: "Serve the yarnify page (inspect, plan, patch and kernel check in the browser) on 127.0.0.1",
  options: [{ flags: "--port <n>", description: "Port to listen on (0: any free port)", default: 8080 }],
  examples: ["yarnify web", "yarnify web --port 0"],
  async run(_arg, o, io) {
    const port = Number(o.port ?? 8080);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new YarnifyError(undefined, `--port must be a whole number from 0 to 65535, got ${o.port}`);
    const page = pageDir();
    if (!page) throw new YarnifyError(undefined, "the page is not built (web/dist/index.html is missing): run npm run build:web");
    let server;
    try {
      server = await startWebServer({ dirs: { "/": page }, port });
    } catch (err) {
      throw new YarnifyError(undefined, `cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`);
    }
    print(io, `yarnify web: ${server.url} (Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      if (io.abortSignal?.aborted) return resolve();
      io.abortSignal?.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  },
};
