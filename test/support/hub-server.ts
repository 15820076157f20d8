// A stand-in for the Hugging Face Hub on 127.0.0.1, implementing exactly the endpoints @huggingface/hub 2.17.5
// calls for modelInfo, listFiles, fileDownloadInfo/downloadFile (Range on resolve), createRepo, createBranch,
// repoExists, commit (preupload, LFS batch + basic or multipart PUT, commit NDJSON, create_pr) and listCommits, the
// hub's open pull request listing, with paged tree listings, and the Jobs API (hub-jobs.ts). With `xet: true` the
// LFS batch answers "xet" and uploads go to a stand-in CAS (xet-cas.ts: xorbs, shards, global dedup), where seeded
// LFS files are stored too; otherwise the client falls back to plain LFS. It records every request and upload so
// tests can check what arrived, and injects faults on demand (429 with Retry-After, 500, a dropped connection
// mid-upload, no answer at all, an answer lost after the work was done).
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CasError, XetCas } from "./xet-cas.ts";
import { StandInJobs } from "./hub-jobs.ts";

export interface StoredFile {
  content: Uint8Array;
  /** Stored as an LFS pointer (sha256) rather than a git blob. */
  lfs: boolean;
}

export interface StandInCommit {
  repo: string;
  /** Branch or refs/pr/N the commit landed on. */
  ref: string;
  oid: string;
  title: string;
  description: string;
  /** Operations as received: path and kind. */
  operations: Array<{ kind: "file" | "lfsFile" | "deletedFile"; path: string }>;
  pullRequest?: number;
}

interface Revision {
  oid: string;
  files: Map<string, StoredFile>;
}

interface StandInRepo {
  id: string;
  private: boolean;
  license?: string;
  branches: Map<string, Revision>;
  pullRequests: number;
  /** Numbers of the pull requests closed by closePullRequest. */
  closed: Set<number>;
}

export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  authorized: boolean;
  status: number;
  /** Bytes of the response body sent (resolve) or request body received (LFS PUT). */
  bytes: number;
}

export interface LfsUploadRecord {
  oid: string;
  size: number;
  bytesReceived: number;
  completed: boolean;
}

/**
 * "500-after": the request is carried out, then answered with a 500 (a response lost after the work was done);
 * "drop-after": carried out, then the connection is dropped without an answer.
 */
export type FaultKind = "429" | "500" | "500-after" | "drop" | "drop-after" | "hang";

export interface FaultSpec {
  kind: FaultKind;
  method?: string;
  /** Applies to request paths containing this substring. */
  pathIncludes: string;
  /** How many matching requests fail before the fault disarms. */
  times?: number;
  /** 429 only: the Retry-After value in seconds. */
  retryAfterSeconds?: number;
  /** drop only: destroy the connection after receiving this many request body bytes. */
  afterBytes?: number;
}

interface ArmedFault extends FaultSpec {
  remaining: number;
  hits: number;
}

export interface StandInHubOptions {
  /** token -> user name; a user may write to repos of its own namespace and of the listed orgs. */
  tokens?: Record<string, { user: string; orgs?: string[] }>;
  /** Files at least this big are uploaded through LFS even when they look like text. */
  lfsThreshold?: number;
  /** LFS objects bigger than this are uploaded in parts of this size (the hub's "multipart" transfer). */
  multipartChunkSize?: number;
  /** Entries per page of a tree listing (the rest follows a Link: rel="next" header). */
  treePageSize?: number;
  /** Offer the xet transfer: uploads go through the stand-in CAS, which also holds every seeded LFS file. */
  xet?: boolean;
  /** Answer pages of other origins as the hub does (CORS headers, preflights): the web page's publish test. */
  cors?: boolean;
}

const sha256Hex = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");
/** The ETag S3 gives an uploaded part: its MD5, quoted. */
const md5Etag = (data: Uint8Array): string => `"${createHash("md5").update(data).digest("hex")}"`;
const newOid = (): string => randomBytes(20).toString("hex");

export class StandInHub {
  readonly repos = new Map<string, StandInRepo>();
  readonly requests: RequestRecord[] = [];
  readonly lfsUploads: LfsUploadRecord[] = [];
  readonly commits: StandInCommit[] = [];
  /** The Jobs API (hub-jobs.ts): jobs submitted, and the executor that runs them. */
  readonly jobs = new StandInJobs();
  /** LFS objects by repo, then sha256: like the hub, an object must be uploaded to each repo that uses it. */
  readonly lfsStore = new Map<string, Map<string, Uint8Array>>();
  private readonly faults: ArmedFault[] = [];
  private readonly tokens: Record<string, { user: string; orgs?: string[] }>;
  private readonly lfsThreshold: number;
  private readonly multipartChunkSize: number;
  private readonly treePageSize: number;
  private readonly cors: boolean;
  /** Parts received for multipart uploads, by oid. */
  private readonly parts = new Map<string, Map<number, Uint8Array>>();
  /** The content-addressed store behind the xet transfer (`xet: true`). */
  readonly cas: XetCas | undefined;
  /** CAS access tokens handed out, and the repo each may write to. */
  private readonly casTokens = new Map<string, string>();
  private server: Server | undefined;
  url = "";
  /** When set, file bodies are sent in 64 KiB pieces with this pause between them (a slow link). */
  resolveChunkDelayMs = 0;

  constructor(options: StandInHubOptions = {}) {
    this.tokens = options.tokens ?? { "hf_test_writer": { user: "me", orgs: ["org"] } };
    this.lfsThreshold = options.lfsThreshold ?? 10 * 1024 * 1024;
    this.multipartChunkSize = options.multipartChunkSize ?? Infinity;
    this.treePageSize = options.treePageSize ?? 1000;
    this.cas = options.xet ? new XetCas() : undefined;
    this.cors = options.cors ?? false;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.json(res, 500, { error: `stand-in hub: ${String(err)}` });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Seeds a repo with files on main; returns the commit oid. */
  addRepo(id: string, files: Record<string, Uint8Array | string>, opts: { private?: boolean; license?: string } = {}): string {
    const rev: Revision = { oid: newOid(), files: new Map() };
    this.storeFiles(id, rev, files);
    this.repos.set(id, { id, private: opts.private ?? false, license: opts.license, branches: new Map([["main", rev]]), pullRequests: 0, closed: new Set() });
    return rev.oid;
  }

  /** A new commit on main of a seeded repo, adding (or replacing) files; returns its oid. */
  commitFiles(id: string, files: Record<string, Uint8Array | string>): string {
    const repo = this.repos.get(id);
    if (!repo) throw new Error(`stand-in hub: no repo ${id}`);
    const rev: Revision = { oid: newOid(), files: new Map(repo.branches.get("main")?.files) };
    this.storeFiles(id, rev, files);
    repo.branches.set("main", rev);
    return rev.oid;
  }

  private storeFiles(id: string, rev: Revision, files: Record<string, Uint8Array | string>): void {
    for (const [path, content] of Object.entries(files)) {
      const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
      rev.files.set(path, { content: bytes, lfs: this.isLfs(path, bytes) });
      if (this.isLfs(path, bytes)) {
        this.lfsObjects(id).set(sha256Hex(bytes), bytes);
        this.cas?.seed(bytes);
      }
    }
  }

  private lfsObjects(repo: string): Map<string, Uint8Array> {
    let m = this.lfsStore.get(repo);
    if (!m) this.lfsStore.set(repo, (m = new Map()));
    return m;
  }

  /** The file as stored at a ref (branch name or refs/pr/N). */
  file(repo: string, path: string, ref = "main"): Uint8Array | undefined {
    return this.repos.get(repo)?.branches.get(ref)?.files.get(path)?.content;
  }

  refs(repo: string): string[] {
    return [...(this.repos.get(repo)?.branches.keys() ?? [])];
  }

  /** Closes a pull request: it leaves the open listing. */
  closePullRequest(repo: string, num: number): void {
    this.repos.get(repo)?.closed.add(num);
  }

  fault(spec: FaultSpec): ArmedFault {
    const armed: ArmedFault = { ...spec, remaining: spec.times ?? 1, hits: 0 };
    this.faults.push(armed);
    return armed;
  }

  private isLfs(path: string, bytes: Uint8Array): boolean {
    if (bytes.length >= this.lfsThreshold) return true;
    if (/\.(gguf|safetensors|bin|onnx|onnx_data|data|pt)$/.test(path)) return true;
    return bytes.subarray(0, 512).includes(0);
  }

  private takeFault(method: string, path: string): ArmedFault | undefined {
    const f = this.faults.find((x) => x.remaining > 0 && path.includes(x.pathIncludes) && (!x.method || x.method === method));
    if (f) {
      f.remaining--;
      f.hits++;
    }
    return f;
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  private user(req: IncomingMessage): { user: string; orgs?: string[] } | undefined | null {
    const auth = req.headers.authorization;
    if (!auth) return undefined;
    const token = auth.replace(/^Bearer /, "");
    return this.tokens[token] ?? null;
  }

  private canRead(repo: StandInRepo, req: IncomingMessage): boolean {
    const u = this.user(req);
    return !repo.private || (u !== undefined && u !== null && this.ownsNamespace(u, repo.id));
  }

  private ownsNamespace(u: { user: string; orgs?: string[] }, id: string): boolean {
    const ns = id.split("/")[0];
    return ns === u.user || (u.orgs ?? []).includes(ns);
  }

  private async readBody(req: IncomingMessage, onBytes?: (n: number) => boolean): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      n += chunk.length;
      if (onBytes && !onBytes(n)) break;
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? "GET";
    const record: RequestRecord = { method, path, range: req.headers.range, authorized: !!req.headers.authorization, status: 0, bytes: 0 };
    this.requests.push(record);
    res.on("finish", () => (record.status = res.statusCode));

    if (this.cors) {
      res.setHeader("Access-Control-Allow-Origin", "*");
      res.setHeader("Access-Control-Expose-Headers", "*");
      if (method === "OPTIONS") {
        // "*" does not cover Authorization: the headers asked for are allowed by name.
        res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE", "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "*", "Access-Control-Max-Age": "600" });
        return void res.end();
      }
    }
    const fault = this.takeFault(method, path);
    if (!path.startsWith("/cas/") && this.user(req) === null) return this.json(res, 401, { error: "Invalid credentials in Authorization header" });
    if (fault?.kind === "429") {
      return this.json(res, 429, { error: "Too many requests" }, { "Retry-After": String(fault.retryAfterSeconds ?? 1) });
    }
    if (fault?.kind === "500") return this.json(res, 500, { error: "Internal Error" });
    if (fault?.kind === "500-after") {
      const writeHead = res.writeHead.bind(res);
      const end = res.end.bind(res);
      res.writeHead = (() => writeHead(500, { "Content-Type": "application/json" })) as unknown as typeof res.writeHead;
      res.end = (() => end(JSON.stringify({ error: "Internal Error" }))) as unknown as typeof res.end;
    }
    if (fault?.kind === "drop-after") {
      // Taken now: once the body is read, req.socket may be detached.
      const socket = req.socket;
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = (() => {
        socket.destroy();
        return res;
      }) as unknown as typeof res.end;
    }
    // A server that accepted the connection and never answers: the client's timeout must fire.
    if (fault?.kind === "hang") return;

    if (path.startsWith("/cas/")) return this.casRequest(req, res, method, path.slice("/cas".length), record);
    if (path === "/api/whoami-v2" || path.startsWith("/api/jobs/")) {
      const served = await this.jobs.handle({ req, res, method, path, user: this.user(req) ?? undefined, body: () => this.readBody(req), reply: (status, body) => this.json(res, status, body) });
      if (served) return;
    }
    let m: RegExpMatchArray | null;
    if (method === "POST" && path === "/api/repos/create") return this.createRepo(req, res);
    if ((m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^?]+)$/))) return this.modelInfo(req, res, m[1], m[2]);
    if ((m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/))) return this.tree(req, res, m[1], m[2], m[3] ?? "", url);
    if (method === "GET" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/commits\/(.+)$/))) return this.listCommits(req, res, m[1], m[2], url);
    if (method === "GET" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/discussions$/))) return this.discussions(req, res, m[1], url);
    if (method === "POST" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/preupload\/(.+)$/))) return this.preupload(req, res, m[1]);
    if (method === "POST" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/commit\/(.+)$/))) return this.commit(req, res, m[1], m[2], url.searchParams.get("create_pr") === "1");
    if (method === "POST" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/branch\/(.+)$/))) return this.createBranch(req, res, m[1], m[2]);
    if (method === "GET" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)$/))) return this.modelInfo(req, res, m[1], "main");
    if (method === "POST" && (m = path.match(/^\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/))) return this.lfsBatch(req, res, m[1]);
    if (method === "GET" && (m = path.match(/^\/api\/models\/([^/]+\/[^/]+)\/xet-write-token\/(.+)$/))) return this.xetWriteToken(req, res, m[1]);
    if (method === "PUT" && (m = path.match(/^\/_lfs\/upload\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/))) return this.lfsPut(req, res, m[1], m[2], fault, record);
    if (method === "PUT" && (m = path.match(/^\/_lfs\/part\/([0-9a-f]{64})\/(\d+)$/))) return this.lfsPart(req, res, m[1], Number(m[2]), fault, record);
    if (method === "POST" && (m = path.match(/^\/_lfs\/complete\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/))) return this.lfsComplete(req, res, m[1], m[2]);
    if ((method === "GET" || method === "HEAD") && (m = path.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/))) {
      return this.resolve(req, res, m[1], m[2], m[3], record);
    }
    return this.json(res, 404, { error: `stand-in hub: no route for ${method} ${path}` });
  }

  private repoFor(req: IncomingMessage, res: ServerResponse, id: string): StandInRepo | undefined {
    const repo = this.repos.get(id);
    if (!repo || !this.canRead(repo, req)) {
      this.json(res, 401, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      return undefined;
    }
    return repo;
  }

  private revisionFor(res: ServerResponse, repo: StandInRepo, ref: string): Revision | undefined {
    const name = ref === "HEAD" ? "main" : ref;
    const rev = repo.branches.get(name) ?? [...repo.branches.values()].find((r) => r.oid === name);
    if (!rev) this.json(res, 404, { error: `Invalid rev id: ${ref}` }, { "X-Error-Code": "RevisionNotFound" });
    return rev;
  }

  private modelInfo(req: IncomingMessage, res: ServerResponse, id: string, ref: string): void {
    const repo = this.repoFor(req, res, id);
    if (!repo) return;
    const rev = this.revisionFor(res, repo, ref);
    if (!rev) return;
    this.json(res, 200, {
      _id: createHash("sha1").update(id).digest("hex").slice(0, 24),
      id,
      private: repo.private,
      pipeline_tag: "text-generation",
      downloads: 0,
      gated: false,
      likes: 0,
      lastModified: new Date(0).toISOString(),
      sha: rev.oid,
      cardData: repo.license ? { license: repo.license } : undefined,
      siblings: [...rev.files.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  private tree(req: IncomingMessage, res: ServerResponse, id: string, ref: string, dir: string, url: URL): void {
    const repo = this.repoFor(req, res, id);
    if (!repo) return;
    const rev = this.revisionFor(res, repo, ref);
    if (!rev) return;
    const recursive = url.searchParams.get("recursive") === "true";
    const prefix = dir ? dir.replace(/\/$/, "") + "/" : "";
    const entries: unknown[] = [];
    const dirs = new Set<string>();
    for (const [path, f] of [...rev.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      if (!recursive && rest.includes("/")) {
        dirs.add(prefix + rest.split("/")[0]);
        continue;
      }
      entries.push({
        type: "file",
        path,
        size: f.content.length,
        oid: createHash("sha1").update(f.content).digest("hex"),
        ...(f.lfs && { lfs: { oid: sha256Hex(f.content), size: f.content.length, pointerSize: 134 } }),
      });
    }
    for (const d of dirs) entries.push({ type: "directory", path: d, size: 0, oid: createHash("sha1").update(d).digest("hex") });
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const page = entries.slice(cursor, cursor + this.treePageSize);
    const headers: Record<string, string> = {};
    if (cursor + this.treePageSize < entries.length) {
      const next = new URL(url.href.replace("http://stand-in", this.url));
      next.searchParams.set("cursor", String(cursor + this.treePageSize));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    this.json(res, 200, page, headers);
  }

  /** The commits of a ref, newest first: its head (seeded or branched commits get a stand-in entry), then the earlier ones made on it. */
  private listCommits(req: IncomingMessage, res: ServerResponse, id: string, ref: string, url: URL): void {
    const repo = this.repoFor(req, res, id);
    if (!repo) return;
    const rev = this.revisionFor(res, repo, ref);
    if (!rev) return;
    const entry = (oid: string, title: string, message: string) => ({ id: oid, title, message, authors: [{ user: "me", avatar: "" }], date: new Date(0).toISOString() });
    const made = this.commits.filter((c) => c.repo === id && c.ref === ref).reverse();
    const head = this.commits.find((c) => c.repo === id && c.oid === rev.oid);
    const list = [head ? entry(head.oid, head.title, head.description) : entry(rev.oid, "initial commit", ""), ...made.filter((c) => c.oid !== rev.oid).map((c) => entry(c.oid, c.title, c.description))];
    this.json(res, 200, list.slice(0, Number(url.searchParams.get("limit") ?? 100)));
  }

  /** The hub's discussion listing, newest first, in pages of `pageSize`; pull requests only (the stand-in has no others). */
  private discussions(req: IncomingMessage, res: ServerResponse, id: string, url: URL, pageSize = 50): void {
    const repo = this.repoFor(req, res, id);
    if (!repo) return;
    const status = url.searchParams.get("status");
    const all = this.commits
      .filter((c) => c.repo === id && c.pullRequest !== undefined)
      .map((c) => ({ num: c.pullRequest!, title: c.title, status: repo.closed.has(c.pullRequest!) ? "closed" : "open", isPullRequest: true }))
      .filter((d) => !status || status === "all" || d.status === status)
      .reverse();
    const start = Number(url.searchParams.get("p") ?? 0) * pageSize;
    this.json(res, 200, { discussions: all.slice(start, start + pageSize), count: all.length, start });
  }

  private resolve(req: IncomingMessage, res: ServerResponse, id: string, ref: string, filePath: string, record: RequestRecord): void {
    const repo = this.repoFor(req, res, id);
    if (!repo) return;
    const rev = this.revisionFor(res, repo, ref);
    if (!rev) return;
    const f = rev.files.get(filePath);
    if (!f) return this.json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
    const etag = `"${f.lfs ? sha256Hex(f.content) : createHash("sha1").update(f.content).digest("hex")}"`;
    const size = f.content.length;
    const headers: Record<string, string> = {
      ETag: etag,
      // The real hub answers an LFS file with a redirect to its storage carrying the sha256 here.
      ...(f.lfs && { "X-Linked-Etag": etag }),
      "X-Repo-Commit": rev.oid,
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
    };
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d*)$/);
    let body = f.content;
    let status = 200;
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === "" ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size) {
        res.writeHead(416, { "Content-Range": `bytes */${size}` });
        res.end();
        return;
      }
      body = f.content.subarray(start, end + 1);
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["Content-Length"] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === "HEAD") return void res.end();
    record.bytes = body.length;
    if (this.resolveChunkDelayMs <= 0) return void res.end(body);
    const send = (offset: number): void => {
      if (res.destroyed) return;
      if (offset >= body.length) return void res.end();
      res.write(body.subarray(offset, offset + 65536));
      setTimeout(() => send(offset + 65536), this.resolveChunkDelayMs);
    };
    send(0);
  }

  private async createRepo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = this.user(req);
    const body = JSON.parse(new TextDecoder().decode(await this.readBody(req))) as {
      name: string;
      organization?: string;
      type: string;
      visibility?: string;
      private?: boolean;
      license?: string;
    };
    const id = `${body.organization ?? u?.user}/${body.name}`;
    if (!u || !this.ownsNamespace(u, id)) return this.json(res, 403, { error: `You don't have the rights to create a repo under ${id.split("/")[0]}` });
    if (body.type !== "model") return this.json(res, 400, { error: "stand-in hub: only model repos" });
    if (this.repos.has(id)) return this.json(res, 409, { error: "You already created this model repo", url: `${this.url}/${id}` });
    this.repos.set(id, {
      id,
      private: body.visibility === "private" || body.private === true,
      license: body.license,
      branches: new Map([["main", { oid: newOid(), files: new Map() }]]),
      pullRequests: 0,
      closed: new Set(),
    });
    this.json(res, 200, { url: `${this.url}/${id}`, name: id, id: createHash("sha1").update(id).digest("hex").slice(0, 24) });
  }

  private writableRepo(req: IncomingMessage, res: ServerResponse, id: string): StandInRepo | undefined {
    const u = this.user(req);
    const repo = this.repos.get(id);
    if (!u || !repo) {
      this.json(res, u ? 404 : 401, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      return undefined;
    }
    if (!this.ownsNamespace(u, id)) {
      // The hub lets anyone with a token open a pull request on a public repo, but not push to it.
      this.json(res, 403, { error: `You don't have the rights to write to ${id}` });
      return undefined;
    }
    return repo;
  }

  private async createBranch(req: IncomingMessage, res: ServerResponse, id: string, branch: string): Promise<void> {
    const body = JSON.parse(new TextDecoder().decode(await this.readBody(req)) || "{}") as { startingPoint?: string };
    const repo = this.writableRepo(req, res, id);
    if (!repo) return;
    if (repo.branches.has(branch)) return this.json(res, 409, { error: `Reference already exists: refs/heads/${branch}` });
    const from = this.revisionFor(res, repo, body.startingPoint ?? "main");
    if (!from) return;
    repo.branches.set(branch, { oid: from.oid, files: new Map(from.files) });
    this.json(res, 200, {});
  }

  private async preupload(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = JSON.parse(new TextDecoder().decode(await this.readBody(req))) as { files: Array<{ path: string; size: number; sample: string }> };
    if (!this.repos.has(id)) return this.json(res, 404, { error: "Repository not found" });
    this.json(res, 200, {
      files: body.files.map((f) => {
        const sample = new Uint8Array(Buffer.from(f.sample, "base64"));
        const lfs = f.size >= this.lfsThreshold || this.isLfs(f.path, sample);
        return { path: f.path, uploadMode: lfs ? "lfs" : "regular", shouldIgnore: false };
      }),
    });
  }

  private async lfsBatch(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = JSON.parse(new TextDecoder().decode(await this.readBody(req))) as {
      operation: string;
      transfers?: string[];
      objects: Array<{ oid: string; size: number }>;
    };
    if (!this.user(req)) return this.json(res, 401, { error: "Unauthorized" });
    if (!this.repos.has(id)) return this.json(res, 404, { error: "Repository not found" });
    if (this.cas && body.transfers?.includes("xet")) return this.xetBatch(res, id, body.objects);
    if (body.transfers?.includes("xet") && !body.transfers.includes("basic")) {
      return this.json(res, 422, { error: "stand-in hub offers basic transfer only" });
    }
    res.writeHead(200, { "Content-Type": "application/vnd.git-lfs+json" });
    res.end(
      JSON.stringify({
        transfer: "basic",
        objects: body.objects.map(({ oid, size }) =>
          this.lfsObjects(id).has(oid)
            ? { oid, size }
            : size > this.multipartChunkSize
              ? { oid, size, authenticated: true, actions: { upload: { href: `${this.url}/_lfs/complete/${id}/${oid}`, header: this.multipartHeader(oid, size) } } }
              : { oid, size, authenticated: true, actions: { upload: { href: `${this.url}/_lfs/upload/${id}/${oid}` } } },
        ),
      }),
    );
  }

  /** The hub's xet answer: objects it lacks get the CAS address and a write token, refreshed at `href`. */
  private xetBatch(res: ServerResponse, id: string, objects: Array<{ oid: string; size: number }>): void {
    const token = this.casToken(id);
    res.writeHead(200, { "Content-Type": "application/vnd.git-lfs+json" });
    res.end(
      JSON.stringify({
        transfer: "xet",
        objects: objects.map(({ oid, size }) =>
          this.lfsObjects(id).has(oid)
            ? { oid, size }
            : {
                oid,
                size,
                authenticated: true,
                actions: {
                  upload: {
                    href: `${this.url}/api/models/${id}/xet-write-token/main`,
                    header: { "X-Xet-Cas-Url": `${this.url}/cas`, "X-Xet-Access-Token": token.accessToken, "X-Xet-Token-Expiration": String(token.exp), "X-Xet-Session-Id": newOid() },
                  },
                },
              },
        ),
      }),
    );
  }

  private casToken(repo: string): { accessToken: string; casUrl: string; exp: number } {
    const accessToken = `xet_${newOid()}`;
    this.casTokens.set(accessToken, repo);
    return { accessToken, casUrl: `${this.url}/cas`, exp: Math.floor(Date.now() / 1000) + 3600 };
  }

  private xetWriteToken(req: IncomingMessage, res: ServerResponse, id: string): void {
    if (!this.cas) return this.json(res, 404, { error: "stand-in hub: xet is off" });
    const u = this.user(req);
    if (!u || !this.repos.has(id)) return this.json(res, 401, { error: "Repository not found" });
    this.json(res, 200, this.casToken(id));
  }

  /** The CAS endpoints; a shard's files become LFS objects of the repo the token was issued for. */
  private async casRequest(req: IncomingMessage, res: ServerResponse, method: string, path: string, record: RequestRecord): Promise<void> {
    const cas = this.cas;
    const repo = this.casTokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
    if (!cas || repo === undefined) return this.json(res, 401, { error: "stand-in CAS: missing or unknown token" });
    let m: RegExpMatchArray | null;
    try {
      if (method === "POST" && (m = path.match(/^\/v1\/xorbs\/default\/([0-9a-f]{64})$/))) {
        const body = await this.readBody(req);
        record.bytes = body.length;
        cas.putXorb(m[1], body);
        return this.json(res, 200, { was_inserted: true });
      }
      if (method === "POST" && path === "/v1/shards") {
        const body = await this.readBody(req);
        record.bytes = body.length;
        for (const f of cas.putShard(body)) this.lfsObjects(repo).set(f.sha256, f.content);
        return this.json(res, 200, { result: 1 });
      }
      if (method === "GET" && (m = path.match(/^\/v1\/chunks\/default\/([0-9a-f]{64})$/))) {
        const shard = cas.dedupShard(m[1]);
        if (!shard) return this.json(res, 404, { error: "chunk not found" });
        record.bytes = shard.length;
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(shard.length) });
        return void res.end(shard);
      }
    } catch (err) {
      if (err instanceof CasError || err instanceof RangeError) return this.json(res, 400, { error: `stand-in CAS: ${err.message}` });
      throw err;
    }
    return this.json(res, 404, { error: `stand-in CAS: no route for ${method} ${path}` });
  }

  private multipartHeader(oid: string, size: number): Record<string, string> {
    const header: Record<string, string> = { chunk_size: String(this.multipartChunkSize) };
    const count = Math.ceil(size / this.multipartChunkSize);
    for (let i = 1; i <= count; i++) header[String(i).padStart(5, "0")] = `${this.url}/_lfs/part/${oid}/${i}`;
    return header;
  }

  /**
   * Receives an LFS upload's body (`label` names it in lfsUploads), or drops the connection part way where a "drop"
   * fault is armed (undefined then).
   */
  private async receiveUpload(req: IncomingMessage, label: string, fault: ArmedFault | undefined, record: RequestRecord): Promise<{ data: Uint8Array; upload: LfsUploadRecord } | undefined> {
    const upload: LfsUploadRecord = { oid: label, size: Number(req.headers["content-length"] ?? -1), bytesReceived: 0, completed: false };
    this.lfsUploads.push(upload);
    const dropAt = fault?.kind === "drop" ? fault.afterBytes ?? 1 : Infinity;
    // Taken now: once the body stream is abandoned, req.socket is detached (null).
    const socket = req.socket;
    const data = await this.readBody(req, (n) => {
      upload.bytesReceived = n;
      record.bytes = n;
      return n < dropAt;
    });
    if (upload.bytesReceived < dropAt) return { data, upload };
    socket.destroy();
    return undefined;
  }

  private async lfsPart(req: IncomingMessage, res: ServerResponse, oid: string, part: number, fault: ArmedFault | undefined, record: RequestRecord): Promise<void> {
    const received = await this.receiveUpload(req, `${oid}#${part}`, fault, record);
    if (!received) return;
    let parts = this.parts.get(oid);
    if (!parts) this.parts.set(oid, (parts = new Map()));
    parts.set(part, received.data);
    received.upload.completed = true;
    res.writeHead(200, { ETag: md5Etag(received.data) });
    res.end();
  }

  private async lfsComplete(req: IncomingMessage, res: ServerResponse, repo: string, oid: string): Promise<void> {
    const body = JSON.parse(new TextDecoder().decode(await this.readBody(req))) as { oid: string; parts: Array<{ partNumber: number; etag: string }> };
    const parts = this.parts.get(oid);
    if (!parts || body.oid !== oid) return this.json(res, 400, { error: `stand-in hub: no parts for ${oid}` });
    const chunks: Uint8Array[] = [];
    for (const p of body.parts) {
      const data = parts.get(p.partNumber);
      if (!data || md5Etag(data) !== p.etag) return this.json(res, 400, { error: `stand-in hub: part ${p.partNumber} missing or ETag mismatch` });
      chunks.push(data);
    }
    const all = new Uint8Array(Buffer.concat(chunks));
    if (sha256Hex(all) !== oid) return this.json(res, 400, { error: `stand-in hub: parts do not hash to ${oid}` });
    this.lfsObjects(repo).set(oid, all);
    this.parts.delete(oid);
    this.json(res, 200, {});
  }

  private async lfsPut(req: IncomingMessage, res: ServerResponse, repo: string, oid: string, fault: ArmedFault | undefined, record: RequestRecord): Promise<void> {
    const received = await this.receiveUpload(req, oid, fault, record);
    if (!received) return;
    if (sha256Hex(received.data) !== oid) return this.json(res, 400, { error: `stand-in hub: content does not hash to ${oid}` });
    this.lfsObjects(repo).set(oid, received.data);
    received.upload.completed = true;
    res.writeHead(200, { ETag: `"${oid}"` });
    res.end();
  }

  private async commit(req: IncomingMessage, res: ServerResponse, id: string, ref: string, createPr: boolean): Promise<void> {
    const lines = new TextDecoder()
      .decode(await this.readBody(req))
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
    const u = this.user(req);
    const repo = this.repos.get(id);
    if (!u || !repo || !this.canRead(repo, req)) return this.json(res, 401, { error: "Repository not found" });
    if (!createPr && !this.ownsNamespace(u, id)) return this.json(res, 403, { error: `You don't have the rights to write to ${id}; open a pull request` });
    const base = this.revisionFor(res, repo, ref);
    if (!base) return;
    const header = lines.find((l) => l.key === "header")?.value as { summary?: string; description?: string; parentCommit?: string } | undefined;
    if (!header?.summary) return this.json(res, 400, { error: "Missing commit summary" });
    if (header.parentCommit && header.parentCommit !== base.oid) return this.json(res, 412, { error: "A commit has happened since. Please refresh and try again." });

    // Validate every operation before applying any: a commit is all or nothing.
    const files = new Map(base.files);
    const operations: StandInCommit["operations"] = [];
    for (const { key, value } of lines) {
      if (key === "header") continue;
      const path = String(value.path);
      if (key === "file") {
        const content = new Uint8Array(Buffer.from(String(value.content), value.encoding === "base64" ? "base64" : "utf8"));
        files.set(path, { content, lfs: false });
      } else if (key === "lfsFile") {
        const blob = this.lfsObjects(id).get(String(value.oid));
        if (!blob) return this.json(res, 422, { error: `LFS object ${String(value.oid)} for ${path} was never uploaded` });
        files.set(path, { content: blob, lfs: true });
      } else if (key === "deletedFile") {
        if (!files.delete(path)) return this.json(res, 404, { error: `Cannot delete ${path}: not found` });
      } else {
        return this.json(res, 400, { error: `Unknown operation ${key}` });
      }
      operations.push({ kind: key as "file" | "lfsFile" | "deletedFile", path });
    }
    const oid = newOid();
    let target = ref;
    let pullRequest: number | undefined;
    if (createPr) {
      pullRequest = ++repo.pullRequests;
      target = `refs/pr/${pullRequest}`;
    }
    repo.branches.set(target, { oid, files });
    this.commits.push({ repo: id, ref: target, oid, title: header.summary, description: header.description ?? "", operations, pullRequest });
    this.json(res, 200, {
      success: true,
      commitOid: oid,
      commitUrl: `${this.url}/${id}/commit/${oid}`,
      hookOutput: "",
      ...(pullRequest !== undefined && { pullRequestUrl: `${this.url}/${id}/discussions/${pullRequest}` }),
    });
  }
}

/** Runs `fn` with a started stand-in hub and a fresh temporary directory; both are gone afterwards. */
export async function withStandInHub(fn: (hub: StandInHub, dir: string) => Promise<void>, options: StandInHubOptions = {}): Promise<void> {
  const hub = new StandInHub(options);
  await hub.start();
  const dir = mkdtempSync(join(tmpdir(), "yarnify-hub-"));
  try {
    await fn(hub, dir);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
