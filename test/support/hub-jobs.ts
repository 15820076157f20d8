// The stand-in hub's Jobs API, as @huggingface/hub 2.17.5 calls it: whoami-v2, POST /api/jobs/{ns} (runJob),
// GET /api/jobs/{ns} (listJobs), GET /api/jobs/{ns}/{id} (getJob), GET .../logs (streamJobLogs: server-sent
// events `data: {"data": line, "timestamp": ...}`) and POST .../cancel. A job runs through an executor the test
// sets (shard-job-runner.ts runs `yarnify batch` in-process, as the shard job's container would); its exit code
// decides COMPLETED or ERROR. The stand-in's fault injection (hub-server.ts) applies to these routes too.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface StandInJob {
  id: string;
  namespace: string;
  createdAt: string;
  stage: "RUNNING" | "COMPLETED" | "ERROR" | "CANCELED";
  message: string | null;
  dockerImage: string;
  command: string[];
  environment: Record<string, string>;
  flavor: string;
  labels: Record<string, string>;
  timeoutSeconds?: number;
  /** Kept server-side: the API lists secret names only. */
  secrets: Record<string, string>;
  logs: string[];
  done: Promise<void>;
}

/** Runs a job: what it printed and its exit code. */
export type JobExecutor = (job: StandInJob) => Promise<{ exitCode: number; logs: string[] }>;

export interface JobsRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  user: { user: string; orgs?: string[] } | undefined;
  body: () => Promise<Uint8Array>;
  reply: (status: number, body: unknown) => void;
}

export class StandInJobs {
  readonly jobs: StandInJob[] = [];
  /** How jobs run; set by the test (nothing runs until it is). */
  executor: JobExecutor = async () => ({ exitCode: 0, logs: [] });
  private seq = 0;

  /** Resolves when every job has finished. */
  async idle(): Promise<void> {
    await Promise.all(this.jobs.map((j) => j.done));
  }

  private view(j: StandInJob): unknown {
    return {
      type: "job",
      id: j.id,
      status: { stage: j.stage, message: j.message },
      createdAt: j.createdAt,
      dockerImage: j.dockerImage,
      command: j.command,
      environment: j.environment,
      flavor: j.flavor,
      labels: j.labels,
      secrets: Object.keys(j.secrets),
      owner: { id: j.namespace, name: j.namespace, type: "user" },
      ...(j.timeoutSeconds !== undefined && { timeoutSeconds: j.timeoutSeconds }),
    };
  }

  /** Serves a request under /api/jobs/ or /api/whoami-v2; false when it is neither. */
  async handle(r: JobsRequest): Promise<boolean> {
    if (r.path === "/api/whoami-v2") {
      if (!r.user) r.reply(401, { error: "Invalid credentials in Authorization header" });
      else r.reply(200, { type: "user", name: r.user.user, orgs: (r.user.orgs ?? []).map((name) => ({ name })), auth: { type: "access_token", accessToken: { role: "write", displayName: "test" } } });
      return true;
    }
    const m = /^\/api\/jobs\/([^/]+)(?:\/([^/]+))?(?:\/(logs|cancel))?$/.exec(r.path);
    if (!m) return false;
    const [, namespace, id, action] = m;
    if (!r.user) return r.reply(401, { error: "Invalid credentials in Authorization header" }), true;
    if (namespace !== r.user.user && !(r.user.orgs ?? []).includes(namespace)) return r.reply(403, { error: `You cannot run jobs under ${namespace}` }), true;
    if (r.method === "POST" && id === undefined) {
      r.reply(200, this.view(this.create(namespace, JSON.parse(new TextDecoder().decode(await r.body())) as Record<string, unknown>)));
      return true;
    }
    if (r.method === "GET" && id === undefined) return r.reply(200, this.jobs.filter((j) => j.namespace === namespace).map((j) => this.view(j))), true;
    const job = this.jobs.find((j) => j.id === id && j.namespace === namespace);
    if (!job) return r.reply(404, { error: `Job ${id} not found` }), true;
    if (r.method === "POST" && action === "cancel") {
      if (job.stage === "RUNNING") job.stage = "CANCELED";
      return r.reply(200, this.view(job)), true;
    }
    if (r.method === "GET" && action === "logs") {
      await job.done;
      r.res.writeHead(200, { "Content-Type": "text/event-stream" });
      for (const line of job.logs) r.res.write(`data: ${JSON.stringify({ data: line, timestamp: job.createdAt })}\n\n`);
      r.res.end();
      return true;
    }
    if (r.method === "GET" && action === undefined) return r.reply(200, this.view(job)), true;
    return false;
  }

  private create(namespace: string, body: Record<string, unknown>): StandInJob {
    this.seq++;
    const job: StandInJob = {
      id: (0x6850000000000000n + BigInt(this.seq)).toString(16).padStart(24, "0"),
      namespace,
      createdAt: new Date(Date.UTC(2026, 0, 1) + this.seq * 1000).toISOString(),
      stage: "RUNNING",
      message: null,
      dockerImage: String(body.dockerImage),
      command: (body.command as string[] | undefined) ?? [],
      environment: (body.environment as Record<string, string> | undefined) ?? {},
      flavor: String(body.flavor),
      labels: (body.labels as Record<string, string> | undefined) ?? {},
      ...(typeof body.timeoutSeconds === "number" && { timeoutSeconds: body.timeoutSeconds }),
      secrets: (body.secrets as Record<string, string> | undefined) ?? {},
      logs: [],
      done: Promise.resolve(),
    };
    job.done = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(() => this.executor(job))
      .catch((err: unknown) => ({ exitCode: 1, logs: [String(err)] }))
      .then(({ exitCode, logs }) => {
        job.logs = logs;
        if (job.stage !== "RUNNING") return;
        job.stage = exitCode === 0 ? "COMPLETED" : "ERROR";
        job.message = exitCode === 0 ? null : `Job failed with exit code: ${exitCode}`;
      });
    this.jobs.push(job);
    return job;
  }
}
