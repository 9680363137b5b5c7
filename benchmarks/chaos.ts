import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers as natsHeaders, type JetStreamClient, type NatsConnection } from "nats";
import { Client } from "pg";
import type { Consultation } from "../lib/circle/consultation";
import { coreSubjects, type CoreSubjects } from "../lib/transport/subjects";
import { ChaosNats, ChaosPostgres, ChaosRedis } from "./chaos-infra";
import { QUESTION } from "./consult-provider";
import { freePort } from "./mcp-bench-support";
import { newReport, saveReport, type Row } from "./report";
import { intEnv } from "./bench-env";
import { runCommand } from "./bench-process";
import { prng } from "./consensus-corpus";

/**
 * `npm run chaos`: three CORE nodes (`core start`, every default service) on a
 * private nats-server with JetStream, Redis and PostgreSQL (benchmarks/chaos-infra.ts),
 * under a steady open-loop consult load spread over REST (round robin over the
 * nodes' API ports; on a refused connection, a timeout or 502/503/504 the
 * client tries the next node), NATS request/reply on <prefix>.v1.consult (retried
 * the same way) and JetStream jobs (<prefix>.jobs.consult with a Nats-Msg-Id,
 * the publish retried with the same id until JetStream acknowledges it), while
 * a random node is `kill -9`-ed every CHAOS_KILL_EVERY_SEC and started again
 * CHAOS_NODE_DOWN_MS later, and nats-server, Redis and PostgreSQL are each
 * crashed once and started again after CHAOS_SERVER_DOWN_MS.
 *
 * After the load: in-flight calls finish, jobs drain, and the database is the
 * judge: every consult answered 200 has its consultation row; every job
 * published is completed, once (jobs table, jobs.completed events, the audit
 * log's `nats:jobs` rows, and the consultations made for it). Longest
 * unavailability is the longest stretch of the load with no consult
 * succeeding, per edge and overall.
 *
 * Knobs: CHAOS_DURATION_SEC (180), CHAOS_RATE (consults/s over all edges, 20),
 * CHAOS_KILL_EVERY_SEC (20), CHAOS_NODE_DOWN_MS (3000), CHAOS_SERVER_DOWN_MS (2000),
 * CHAOS_PG_STOP (crash: SIGQUIT, PostgreSQL's immediate shutdown; fast: SIGINT), CHAOS_DRAIN_SEC (180), CHAOS_CLIENT_DEADLINE_MS (60000: how long a client keeps
 * retrying one consult), CHAOS_JOBS_ACK_WAIT_MS (the nodes' CORE_JOBS_ACK_WAIT_MS;
 * unset: CORE's default, 30 s), CHAOS_SEED (the random node choice).
 */

const LATENCIES_MS = [20, 30, 40];
const NODES = 3;
const GOAL_SUCCESS = 0.999;
/** One attempt's deadline: a consult takes ~50 ms here, so a silent node is given up on long before this. */
const ATTEMPT_TIMEOUT_MS = 10_000;
const CONSULT_TIMEOUT_MS = 8_000;

type Edge = "REST" | "NATS" | "JetStream";
const EDGES: Edge[] = ["REST", "NATS", "JetStream"];

interface Settings {
  durationSec: number;
  rate: number;
  killEverySec: number;
  nodeDownMs: number;
  serverDownMs: number;
  drainSec: number;
  clientDeadlineMs: number;
  ackWaitMs: number | undefined;
  seed: number;
  pgSignal: NodeJS.Signals;
}

function readSettings(): Settings {
  const ackWait = process.env.CHAOS_JOBS_ACK_WAIT_MS;
  return {
    durationSec: intEnv("CHAOS_DURATION_SEC", 180, 30),
    rate: intEnv("CHAOS_RATE", 20),
    killEverySec: intEnv("CHAOS_KILL_EVERY_SEC", 20, 5),
    nodeDownMs: intEnv("CHAOS_NODE_DOWN_MS", 3_000, 0),
    serverDownMs: intEnv("CHAOS_SERVER_DOWN_MS", 2_000, 0),
    drainSec: intEnv("CHAOS_DRAIN_SEC", 180, 10),
    clientDeadlineMs: intEnv("CHAOS_CLIENT_DEADLINE_MS", 60_000, 1_000),
    ackWaitMs: ackWait ? intEnv("CHAOS_JOBS_ACK_WAIT_MS", 30_000, 1_000) : undefined,
    seed: intEnv("CHAOS_SEED", Math.floor(Math.random() * 2 ** 31), 0),
    pgSignal: pgSignal(),
  };
}

/** CHAOS_PG_STOP: crash (SIGQUIT, immediate shutdown: what a crash of the server does) or fast (SIGINT, a clean restart). */
function pgSignal(): NodeJS.Signals {
  const raw = process.env.CHAOS_PG_STOP ?? "crash";
  if (raw === "crash") return "SIGQUIT";
  if (raw === "fast") return "SIGINT";
  throw new Error(`CHAOS_PG_STOP: received ${JSON.stringify(raw)}; expected crash or fast`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;



/** One CORE node: a fixed node id and API port, so that a client can find it again after a restart. */
class ChaosNode {
  child: ChildProcess | undefined;
  up = false;
  starts = 0;
  /** Called when the node exits without the suite killing or stopping it, with the tail of its output. */
  onUnexpectedExit: ((code: string, tail: string) => void) | undefined;
  private expectingExit = false;
  private readonly log: WriteStream;

  constructor(
    readonly id: string,
    readonly apiPort: number,
    private readonly env: NodeJS.ProcessEnv,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  get url(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** Starts the node; resolves once its API listens. */
  start(timeoutMs = 120_000): Promise<void> {
    this.starts++;
    this.expectingExit = false;
    this.log.write(`\n===== chaos: start #${this.starts} at ${new Date().toISOString()} =====\n`);
    const child = spawn(process.execPath, [join(__dirname, "..", "bin", "core.js"), "start", "--node-id", this.id], {
      env: { ...this.env, CORE_API_PORT: String(this.apiPort) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    let out = "";
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => finish(new Error(`${this.id} did not listen within ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else {
          this.up = true;
          resolve();
        }
      };
      const onData = (chunk: Buffer) => {
        this.log.write(chunk);
        out += chunk.toString();
        if (out.length > 100_000) out = out.slice(-50_000);
        if (!done && /listening: api http:\/\//.test(out)) finish();
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        if (this.child === child) this.up = false;
        this.log.write(`\n===== chaos: exited ${code ?? signal} at ${new Date().toISOString()} =====\n`);
        if (done && !this.expectingExit && this.child === child) this.onUnexpectedExit?.(String(code ?? signal), out.slice(-4000));
        finish(new Error(`${this.id} exited (${code ?? signal}) before listening:\n${out.slice(-3000)}`));
      });
    });
  }

  /** kill -9. */
  async kill(): Promise<void> {
    const child = this.child;
    this.up = false;
    this.expectingExit = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.up = false;
    this.expectingExit = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    this.log.end();
  }
}

/** One consult as the client saw it: its final outcome, once, whatever the retries. */
interface ConsultRecord {
  edge: Edge;
  id: string;
  startMs: number;
  endMs?: number;
  ok?: boolean;
  /** The final failure's cause. */
  cause?: string;
  /** Causes of the attempts that were retried. */
  retried: string[];
  consultationId?: string;
  /** Jobs: when JetStream acknowledged the publication. */
  ackedMs?: number;
  /** REST: the node that gave the final answer. */
  servedBy?: string;
  /** REST and NATS: the request id of the final attempt (what the audit log records). */
  requestId?: string;
}

interface FaultRecord {
  atMs: number;
  fault: string;
  /** How long until the thing was back (for restarts). */
  downMs?: number;
  detail: string;
}

interface JobEvents {
  started: number;
  completed: string[];
  failed: number;
  dead: number;
}

function errorCode(text: string): string {
  try {
    const j = JSON.parse(text) as { code?: string; error?: { code?: string } };
    return j.error?.code ?? j.code ?? "";
  } catch {
    return "not JSON";
  }
}

function networkCause(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `timeout after ${ATTEMPT_TIMEOUT_MS} ms`;
  return `network: ${e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err)}`;
}

/** Checks a 200's body: a completed consultation with its id. */
function checkConsultation(text: string): { id?: string; node?: string; cause?: string } {
  let c: Consultation;
  try {
    c = JSON.parse(text) as Consultation;
  } catch {
    return { cause: "200, not JSON" };
  }
  if (c.status !== "completed") return { cause: `200 but status ${c.status}` };
  if (!c.id) return { cause: "200 without a consultation id" };
  return { id: c.id, node: c.nodeId };
}

/** The longest stretch within [from, to] with no success; the successes' times need not be sorted. */
function longestGap(times: number[], from: number, to: number): { ms: number; start: number; end: number } {
  const t = times.filter((x) => x >= from && x <= to).sort((a, b) => a - b);
  let best = { ms: 0, start: from, end: from };
  let prev = from;
  for (const x of [...t, to]) {
    if (x - prev > best.ms) best = { ms: x - prev, start: prev, end: x };
    prev = x;
  }
  return best;
}

export async function runChaos(): Promise<void> {
  const s = readSettings();
  const random = prng(s.seed);
  const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-chaos-"));
  const subjects: CoreSubjects = coreSubjects(`chaos-${tag}`);
  const progress = (line: string) => process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)}: ${line}\n`);
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const report = newReport(
    "chaos",
    `Three CORE nodes (\`core start\`, every default service, one namespace and CORE_SUBJECT_PREFIX, CORE_ENV=production) on a private nats-server with JetStream, Redis and PostgreSQL ` +
      `(each a process of the suite's own on a free port: benchmarks/chaos-infra.ts), ${LATENCIES_MS.length} experts answered by fixed-latency chat completions servers (${LATENCIES_MS.join(", ")} ms, benchmarks/consult-provider.ts). ` +
      `For ${s.durationSec} s, ${s.rate} consults/s (open loop, cache bypassed, an operator's API key from \`core keys create\`) spread evenly over REST POST /api/v1/consult (round robin over the nodes; ` +
      `on a refused or reset connection, a ${ATTEMPT_TIMEOUT_MS / 1000} s timeout or 502/503/504/429 the client tries the next node after a backoff, up to ${s.clientDeadlineMs / 1000} s), NATS request/reply on <prefix>.v1.consult (retried the same way) ` +
      `and JetStream jobs on <prefix>.jobs.consult (a Nats-Msg-Id each; the publish retried with the same id until acknowledged). Meanwhile a random node is killed with SIGKILL every ${s.killEverySec} s and started again ${secs(s.nodeDownMs)} s later, ` +
      `and nats-server, Redis and PostgreSQL are each killed once (SIGKILL; PostgreSQL ${s.pgSignal === "SIGQUIT" ? "SIGQUIT, its immediate shutdown, as in a crash" : "SIGINT, a fast clean shutdown"}) and started again ${secs(s.serverDownMs)} s later. Each consult counts once, with its final outcome.`,
  );

  let nats: ChaosNats | undefined;
  let redis: ChaosRedis | undefined;
  let pg: ChaosPostgres | undefined;
  let providers: ChildProcess | undefined;
  const nodes: ChaosNode[] = [];
  let nc: NatsConnection | undefined;
  let keepDir = true;
  try {
    progress(`starting nats-server, redis-server and PostgreSQL; logs in ${dir}`);
    [nats, redis, pg] = await Promise.all([ChaosNats.start(), ChaosRedis.start(), ChaosPostgres.start()]);
    progress(`nats ${nats.url}, redis ${redis.url}, postgres ${pg.url}`);

    const stub = spawn(process.execPath, [join(__dirname, "consult-provider.js"), ...LATENCIES_MS.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
    providers = stub;
    const ports = await new Promise<number[]>((resolve, reject) => {
      let out = "";
      stub.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /ready (\{.*\})/.exec(out);
        if (m) resolve((JSON.parse(m[1]!) as { ports: number[] }).ports);
      });
      stub.once("exit", (code) => reject(new Error(`the provider stub exited with ${code}`)));
    });
    const configFile = join(dir, "core.json");
    // A service client consulting 20 times a second: the default per-principal limits (10, then one every 5 s) would refuse nearly all of it.
    const generous = { capacity: 100_000, refillPerSecond: 10_000 };
    writeFileSync(
      configFile,
      JSON.stringify({
        experts: ports.map((port, i) => ({ id: `e${i + 1}-${LATENCIES_MS[i]}ms`, provider: "openai-compatible", model: `stub-${i + 1}`, baseUrl: `http://127.0.0.1:${port}/v1` })),
        rateLimits: { default: generous, routes: { "POST /api/v1/consult": generous } },
      }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CORE_CONFIG: configFile,
      CORE_ENV: "production",
      CORE_JWT_SECRET: randomBytes(48).toString("base64"),
      CORE_NAMESPACE: `chaos-${tag}`,
      CORE_SUBJECT_PREFIX: subjects.prefix,
      CORE_METRICS: "false",
      CORE_LOG_LEVEL: "info",
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      DATABASE_URL: pg.url,
      ...(s.ackWaitMs ? { CORE_JOBS_ACK_WAIT_MS: String(s.ackWaitMs) } : {}),
    };
    for (let i = 1; i <= NODES; i++) nodes.push(new ChaosNode(`chaos-${i}`, await freePort(), env, join(dir, `chaos-${i}.log`)));
    progress(`starting ${NODES} CORE nodes`);
    await Promise.all(nodes.map((n) => n.start()));

    const keyJson = await runCommand([join(__dirname, "..", "bin", "core.js"), "keys", "create", "--name", "chaos", "--role", "operator", "--json"], { ...env, CORE_LOG_LEVEL: "warn", CORE_NODE_ID: `chaos-keys-${tag}` }, "core keys create");
    const jsonStart = keyJson.search(/^\{/m);
    const apiKey = jsonStart < 0 ? undefined : (JSON.parse(keyJson.slice(jsonStart)) as { key?: string }).key;
    if (!apiKey) throw new Error(`core keys create printed no key: ${keyJson}`);

    nc = await connect({ servers: nats.url, name: "core-chaos-client", maxReconnectAttempts: -1, reconnectTimeWait: 250, waitOnFirstConnect: true });
    const conn = nc;
    const js: JetStreamClient = conn.jetstream();
    // The jobs stream is made by the nodes at start; wait for it rather than publishing into nothing.
    const jsm = await conn.jetstreamManager();
    for (let i = 0; ; i++) {
      try {
        await jsm.streams.info(subjects.jobsStream);
        break;
      } catch (err) {
        if (i > 100) throw new Error(`the jobs stream ${subjects.jobsStream} was not made: ${(err as Error).message}`);
        await sleep(200);
      }
    }

    // Job events, as a subscriber would follow them (the jobs table is the judge: events published while NATS is down are lost by design).
    const events = new Map<string, JobEvents>();
    const sub = conn.subscribe(`${subjects.prefix}.events.jobs.*`);
    void (async () => {
      for await (const m of sub) {
        let e: { jobId?: string; consultationId?: string };
        try {
          e = m.json();
        } catch {
          continue;
        }
        if (!e.jobId) continue;
        const rec = events.get(e.jobId) ?? { started: 0, completed: [], failed: 0, dead: 0 };
        events.set(e.jobId, rec);
        const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
        if (kind === "started") rec.started++;
        else if (kind === "completed") rec.completed.push(e.consultationId ?? "?");
        else if (kind === "failed") rec.failed++;
        else if (kind === "dead") rec.dead++;
      }
    })();

    const records: ConsultRecord[] = [];
    const faults: FaultRecord[] = [];
    const t0 = Date.now();
    const loadEnd = t0 + s.durationSec * 1000;
    const inFlight = new Set<Promise<void>>();
    const body = (question: string) => JSON.stringify({ question, cache: false, timeoutMs: CONSULT_TIMEOUT_MS });
    const backoff = (attempt: number) => Math.min(2_000, 100 * 2 ** (attempt - 1)) * (0.5 + random() / 2);
    let restNext = 0;

    const restConsult = async (r: ConsultRecord) => {
      const data = body(QUESTION);
      let node = restNext++ % NODES;
      for (let attempt = 1; ; attempt++) {
        let cause: string;
        let retryable: boolean;
        let retryAfterMs = 0;
        try {
          const res = await fetch(`${nodes[node]!.url}/api/v1/consult`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": apiKey, "x-request-id": (r.requestId = `${r.id}-${attempt}`) },
            body: data,
            signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
          });
          const text = await res.text();
          r.servedBy = nodes[node]!.id;
          if (res.status === 200) {
            const c = checkConsultation(text);
            r.ok = !c.cause;
            r.cause = c.cause;
            r.consultationId = c.id;
            r.servedBy = c.node ?? r.servedBy;
            return;
          }
          cause = `HTTP ${res.status} ${errorCode(text)}`.trim();
          retryable = [429, 502, 503, 504].includes(res.status);
          if (res.status === 429) retryAfterMs = Number(res.headers.get("retry-after") ?? "1") * 1000;
        } catch (err) {
          cause = networkCause(err);
          retryable = true;
        }
        const wait = Math.max(retryAfterMs, backoff(attempt));
        if (!retryable || Date.now() + wait > r.startMs + s.clientDeadlineMs) {
          r.ok = false;
          r.cause = cause;
          return;
        }
        r.retried.push(cause);
        node = (node + 1) % NODES;
        await sleep(wait);
      }
    };

    const natsConsult = async (r: ConsultRecord) => {
      const data = new TextEncoder().encode(body(QUESTION));
      for (let attempt = 1; ; attempt++) {
        let cause: string;
        let retryable: boolean;
        const h = natsHeaders();
        h.set("X-Api-Key", apiKey);
        h.set("Core-Request-Id", (r.requestId = `${r.id}-${attempt}`));
        h.set("Core-Timeout-Ms", String(CONSULT_TIMEOUT_MS));
        try {
          const msg = await conn.request(subjects.consult, data, { timeout: ATTEMPT_TIMEOUT_MS, headers: h });
          const status = Number(msg.headers?.get("Core-Status"));
          if (status === 200) {
            const c = checkConsultation(msg.string());
            r.ok = !c.cause;
            r.cause = c.cause;
            r.consultationId = c.id;
            r.servedBy = c.node ?? r.servedBy;
            return;
          }
          cause = `Core-Status ${status} ${errorCode(msg.string())}`.trim();
          retryable = [429, 502, 503, 504].includes(status);
        } catch (err) {
          const code = (err as { code?: string }).code;
          cause = code === "503" ? "NATS no responders" : code === "TIMEOUT" ? `NATS timeout after ${ATTEMPT_TIMEOUT_MS} ms` : `NATS ${code ?? (err as Error).message}`;
          retryable = true;
        }
        const wait = backoff(attempt);
        if (!retryable || Date.now() + wait > r.startMs + s.clientDeadlineMs) {
          r.ok = false;
          r.cause = cause;
          return;
        }
        r.retried.push(cause);
        await sleep(wait);
      }
    };

    // A job's outcome is settled after the drain, from the database; here only its publication is.
    const publishJob = async (r: ConsultRecord) => {
      // A question of its own, so that the consultations made for a job can be counted (a rerun after a crash makes another).
      const data = new TextEncoder().encode(body(`${QUESTION} [job ${r.id}]`));
      for (let attempt = 1; ; attempt++) {
        const h = natsHeaders();
        h.set("X-Api-Key", apiKey);
        try {
          await js.publish(subjects.consultJob, data, { msgID: r.id, headers: h, timeout: 5_000 });
          r.ackedMs = Date.now();
          return;
        } catch (err) {
          const code = (err as { code?: string }).code;
          const cause = `publish: ${code === "503" ? "no responders (JetStream unavailable)" : (code ?? (err as Error).message)}`;
          const wait = backoff(attempt);
          if (Date.now() + wait > r.startMs + s.clientDeadlineMs) {
            r.ok = false;
            r.cause = `${cause} (never acknowledged)`;
            return;
          }
          r.retried.push(cause);
          await sleep(wait);
        }
      }
    };

    const launch = (edge: Edge, n: number) => {
      const r: ConsultRecord = { edge, id: `chaos-${tag}-${edge === "JetStream" ? "job" : edge.toLowerCase()}-${n}`, startMs: Date.now(), retried: [] };
      records.push(r);
      const run = edge === "REST" ? restConsult(r) : edge === "NATS" ? natsConsult(r) : publishJob(r);
      const p = run
        .catch((err: unknown) => {
          r.ok = false;
          r.cause = `client error: ${(err as Error).message}`;
        })
        .finally(() => {
          r.endMs = Date.now();
          inFlight.delete(p);
        });
      inFlight.add(p);
    };

    // --- Faults ---
    const killTimes: number[] = [];
    for (let t = s.killEverySec; t < s.durationSec; t += s.killEverySec) killTimes.push(t);
    // The three servers at a quarter, half and three quarters of the run, moved to halfway between two node kills.
    const between = (x: number) => Math.max(s.killEverySec / 2, Math.round((x - s.killEverySec / 2) / s.killEverySec) * s.killEverySec + s.killEverySec / 2);
    const serverTimes = [between(s.durationSec / 4), between(s.durationSec / 2), between((3 * s.durationSec) / 4)];
    const restarts = new Set<Promise<void>>();
    const background = (p: Promise<void>) => {
      restarts.add(p);
      void p.finally(() => restarts.delete(p));
    };
    // A node that dies by itself is restarted as its supervisor (systemd, Kubernetes) would, and reported.
    for (const node of nodes) {
      node.onUnexpectedExit = (code, tail) => {
        const at = Date.now();
        const why = /^(?:\w*Error|Error): .*$/m.exec(tail)?.[0] ?? tail.trim().split("\n").slice(-1)[0] ?? "";
        const rec: FaultRecord = { atMs: at - t0, fault: `**${node.id} exited by itself (${code})**`, detail: why.slice(0, 200) };
        faults.push(rec);
        progress(`${node.id} exited by itself (${code}): ${why}`);
        if (at > loadEnd) return;
        background(
          (async () => {
            await sleep(s.nodeDownMs);
            try {
              await node.start();
              rec.downMs = Date.now() - at;
              rec.detail += `; started again, API up ${secs(rec.downMs)} s after the exit`;
            } catch (err) {
              rec.detail += `; restart failed: ${(err as Error).message.split("\n")[0]}`;
            }
          })(),
        );
      };
    }
    const killNode = async () => {
      const up = nodes.filter((n) => n.up);
      if (up.length < 2) {
        faults.push({ atMs: Date.now() - t0, fault: "node kill skipped", detail: `only ${up.length} node up` });
        return;
      }
      const victim = up[Math.floor(random() * up.length)]!;
      const at = Date.now();
      const pid = victim.child?.pid;
      await victim.kill();
      const rec: FaultRecord = { atMs: at - t0, fault: `kill -9 ${victim.id}`, detail: `pid ${pid}` };
      faults.push(rec);
      progress(`kill -9 ${victim.id} (pid ${pid})`);
      background(
        (async () => {
          await sleep(s.nodeDownMs);
          try {
            await victim.start();
            rec.downMs = Date.now() - at;
            rec.detail += `; started again, API up ${secs(rec.downMs)} s after the kill`;
            progress(`${victim.id} up again after ${secs(rec.downMs)} s`);
          } catch (err) {
            rec.detail += `; restart failed: ${(err as Error).message.split("\n")[0]}`;
            progress(`${victim.id} restart failed: ${(err as Error).message}`);
          }
        })(),
      );
    };
    const restartServer = async (name: string, server: ChaosNats | ChaosRedis | ChaosPostgres, signal: NodeJS.Signals) => {
      const at = Date.now();
      const how = signal === "SIGINT" || signal === "SIGTERM" ? "stopped" : "killed";
      const rec: FaultRecord = { atMs: at - t0, fault: `${name} ${how} (${signal})`, detail: "" };
      faults.push(rec);
      progress(`${name} ${how} (${signal})`);
      try {
        await server.restart(s.serverDownMs, signal);
        rec.downMs = Date.now() - at;
        rec.detail = `accepting connections again ${secs(rec.downMs)} s later`;
        progress(`${name} up again after ${secs(rec.downMs)} s`);
      } catch (err) {
        rec.detail = `restart failed: ${(err as Error).message.split("\n")[0]}`;
        progress(`${name} restart failed: ${(err as Error).message}`);
      }
    };
    const schedule: Array<{ at: number; run: () => Promise<void> }> = [
      ...killTimes.map((at) => ({ at, run: killNode })),
      { at: serverTimes[0]!, run: () => restartServer("nats-server", nats!, "SIGKILL") },
      { at: serverTimes[1]!, run: () => restartServer("redis-server", redis!, "SIGKILL") },
      // SIGKILL of the postmaster would leave its backends holding the shared memory; SIGQUIT is PostgreSQL's own crash (immediate shutdown, recovery at start).
      { at: serverTimes[2]!, run: () => restartServer("PostgreSQL", pg!, s.pgSignal) },
    ];
    for (const f of schedule) {
      const timer = setTimeout(() => background(f.run()), f.at * 1000);
      timer.unref();
    }

    // --- Load ---
    progress(`load: ${s.rate} consults/s for ${s.durationSec} s; node kills at ${killTimes.join(", ")} s; nats, redis, postgres at ${serverTimes.join(", ")} s (seed ${s.seed})`);
    const reporter = setInterval(() => {
      const done = records.filter((r) => r.endMs !== undefined);
      const failed = done.filter((r) => r.ok === false).length;
      progress(`t=${secs(Date.now() - t0)} s: ${records.length} consults started, ${done.length} settled, ${failed} failed, ${inFlight.size} in flight; nodes up: ${nodes.filter((n) => n.up).map((n) => n.id).join(", ")}`);
    }, 10_000);
    const intervalMs = 1000 / s.rate;
    for (let k = 0; Date.now() < loadEnd; k++) {
      launch(EDGES[k % EDGES.length]!, Math.floor(k / EDGES.length));
      const next = t0 + (k + 1) * intervalMs;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const loadStopped = Date.now();
    progress(`load stopped; waiting for ${inFlight.size} calls in flight and the restarts under way`);
    await Promise.all([...inFlight]);
    await Promise.all([...restarts]);
    clearInterval(reporter);

    // --- Drain: every published job settled in the jobs table ---
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    const jobs = records.filter((r) => r.edge === "JetStream");
    const jobIds = jobs.map((r) => r.id);
    const ackedIds = new Set(jobs.filter((r) => r.ackedMs !== undefined).map((r) => r.id));
    interface JobRow {
      id: string;
      status: string;
      attempts: number;
      consultation_id: string | null;
      completed_at: Date | null;
      error: unknown;
    }
    let rows: JobRow[] = [];
    const drainFrom = Date.now();
    for (;;) {
      rows = (await db.query<JobRow>("SELECT id, status, attempts, consultation_id, completed_at, error FROM jobs WHERE id = ANY($1)", [jobIds])).rows;
      const settled = rows.filter((j) => j.status === "completed" || j.status === "dead").length;
      const pending = [...ackedIds].filter((id) => !rows.some((j) => j.id === id && (j.status === "completed" || j.status === "dead"))).length;
      if (pending === 0) break;
      if (Date.now() - drainFrom > s.drainSec * 1000) {
        progress(`drain: gave up after ${s.drainSec} s with ${pending} acknowledged jobs unsettled`);
        break;
      }
      progress(`drain: ${settled} of ${ackedIds.size} acknowledged jobs settled`);
      await sleep(2_000);
    }
    const drainMs = Date.now() - drainFrom;
    // The events of the last completions are a hop behind the table.
    await sleep(1_000);
    const byJob = new Map(rows.map((j) => [j.id, j]));

    // --- Checks against the database ---
    for (const r of jobs) {
      const row = byJob.get(r.id);
      if (r.ackedMs === undefined) {
        // Never acknowledged: failed at the client, unless JetStream took it anyway (the acknowledgement lost) and it ran.
        if (row?.status === "completed") {
          r.ok = true;
          r.cause = undefined;
        }
      } else if (!row) {
        r.ok = false;
        r.cause = "lost: acknowledged by JetStream, no jobs row";
      } else if (row.status === "completed") {
        r.ok = true;
      } else {
        r.ok = false;
        const code = (row.error as { code?: string } | null)?.code;
        r.cause = row.status === "dead" ? `dead-lettered after ${row.attempts} attempts${code ? ` (${code})` : ""}` : `lost: still ${row.status} after the drain`;
      }
      if (row?.status === "completed") {
        r.consultationId = row.consultation_id ?? undefined;
        r.endMs = row.completed_at?.getTime() ?? r.endMs;
      }
    }
    const answered = records.filter((r) => r.ok && r.consultationId);
    const persistedIds = new Set(
      (await db.query<{ id: string }>("SELECT id::text FROM consultations WHERE id = ANY($1::uuid[])", [answered.map((r) => r.consultationId!)])).rows.map((x) => x.id),
    );
    const notPersisted = answered.filter((r) => !persistedIds.has(r.consultationId!));
    for (const r of notPersisted) {
      r.ok = false;
      r.cause = r.edge === "JetStream" ? "completed but its consultation is not stored" : "answered 200 but not persisted";
    }
    const completedJobsWithoutConsultation = jobs.filter((r) => byJob.get(r.id)?.status === "completed" && !byJob.get(r.id)?.consultation_id).length;
    // Run twice: completed more than once (events, audit rows), and consults made for one job (a node dying between the consult and the row makes a second).
    const auditOk = new Map(
      (
        await db.query<{ request_id: string; n: string }>("SELECT request_id, count(*) AS n FROM audit_log WHERE source = 'nats:jobs' AND outcome = 'ok' AND request_id = ANY($1) GROUP BY request_id", [jobIds])
      ).rows.map((x) => [x.request_id, Number(x.n)]),
    );
    const answeredRequestIds = answered.filter((r) => r.requestId).map((r) => r.requestId!);
    const audited = new Set(
      (await db.query<{ request_id: string }>("SELECT DISTINCT request_id FROM audit_log WHERE action = 'circle.consult' AND request_id = ANY($1)", [answeredRequestIds])).rows.map((x) => x.request_id),
    );
    const notAudited = answered.filter((r) => r.requestId && !audited.has(r.requestId));
    const consultsPerJob = new Map<string, number>();
    for (const x of (await db.query<{ question: string; n: string }>("SELECT question, count(*) AS n FROM consultations WHERE question LIKE $1 GROUP BY question", [`%[job chaos-${tag}-job-%]`])).rows) {
      const m = /\[job (\S+)\]$/.exec(x.question);
      if (m) consultsPerJob.set(m[1]!, Number(x.n));
    }
    await db.end();
    const completedTwiceByEvents = jobIds.filter((id) => (events.get(id)?.completed.length ?? 0) > 1);
    const completedTwiceByAudit = jobIds.filter((id) => (auditOk.get(id) ?? 0) > 1);
    const duplicated = new Set([...completedTwiceByEvents, ...completedTwiceByAudit]);
    const consultedMoreThanOnce = jobIds.filter((id) => (consultsPerJob.get(id) ?? 0) > 1);
    const lostJobs = jobs.filter((r) => r.ackedMs !== undefined && byJob.get(r.id)?.status !== "completed" && byJob.get(r.id)?.status !== "dead");
    const deadJobs = jobs.filter((r) => byJob.get(r.id)?.status === "dead");
    const completedJobs = jobs.filter((r) => byJob.get(r.id)?.status === "completed");
    const completionEventsMissed = completedJobs.filter((r) => (events.get(r.id)?.completed.length ?? 0) === 0).length;

    // --- Report ---
    const perEdge = (edge: Edge | "all") => records.filter((r) => edge === "all" || r.edge === edge);
    const gapOf = (rs: ConsultRecord[]) => longestGap(rs.filter((r) => r.ok).map((r) => r.endMs!), t0, loadEnd);
    const faultsNear = (g: { start: number; end: number }) =>
      faults
        .filter((f) => t0 + f.atMs >= g.start - 5_000 && t0 + f.atMs <= g.end)
        .map((f) => `${f.fault} at ${secs(f.atMs)} s`)
        .join("; ") || "none";
    const summaryRows: Row[] = [];
    for (const edge of [...EDGES, "all"] as const) {
      const rs = perEdge(edge);
      const ok = rs.filter((r) => r.ok).length;
      const lat = rs
        .filter((r) => r.ok)
        .map((r) => r.endMs! - r.startMs)
        .sort((a, b) => a - b);
      const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!.toFixed(0) : "–");
      const gap = gapOf(rs);
      summaryRows.push({
        edge: edge === "all" ? "**all**" : edge,
        consults: rs.length,
        succeeded: ok,
        "succeeded %": pct(rs.length ? ok / rs.length : 0),
        failed: rs.length - ok,
        "retried (consults)": rs.filter((r) => r.retried.length > 0).length,
        "200 not persisted": notPersisted.filter((r) => edge === "all" || r.edge === edge).length,
        "p50 ms": q(0.5),
        "p99 ms": q(0.99),
        "max ms": lat.length ? lat[lat.length - 1]!.toFixed(0) : "–",
        "longest unavailability s": secs(gap.ms),
        "from–to s": `${secs(gap.start - t0)}–${secs(gap.end - t0)}`,
        "faults then": faultsNear(gap),
      });
    }
    report.tables.push({ title: "Consults per edge (each counted once, with its final outcome; JetStream: from publication to the job's completed_at)", rows: summaryRows });

    const jobRows: Row[] = [
      { measure: "jobs published (attempted)", count: jobs.length },
      { measure: "acknowledged by JetStream", count: ackedIds.size },
      { measure: "completed (jobs table)", count: completedJobs.length },
      { measure: "dead-lettered", count: deadJobs.length },
      { measure: "**lost** (acknowledged, not completed or dead after the drain)", count: lostJobs.length },
      { measure: "**completed more than once** (jobs.completed events or audit rows)", count: duplicated.size },
      { measure: "consulted more than once (consultations made for one job: a rerun after a crash between consult and row)", count: consultedMoreThanOnce.length },
      { measure: "completed with more than one attempt", count: completedJobs.filter((r) => (byJob.get(r.id)?.attempts ?? 1) > 1).length },
      { measure: "completed without a consultation id", count: completedJobsWithoutConsultation },
      { measure: "completed, no jobs.completed event seen by the subscriber", count: completionEventsMissed },
      { measure: "drain after the load (s)", count: secs(drainMs) },
    ];
    report.tables.push({ title: "JetStream jobs", rows: jobRows });

    const causes = new Map<string, number>();
    for (const r of records.filter((x) => !x.ok)) {
      const key = `${r.edge}\t${r.cause ?? "unknown"}`;
      causes.set(key, (causes.get(key) ?? 0) + 1);
    }
    report.tables.push({
      title: "Failures by cause (final outcome)",
      rows: causes.size === 0 ? [{ edge: "-", cause: "(none)", consults: 0 }] : [...causes].sort((a, b) => b[1] - a[1]).map(([k, n]) => ({ edge: k.split("\t")[0]!, cause: k.split("\t")[1]!, consults: n })),
    });
    const retriedCauses = new Map<string, number>();
    for (const r of records) for (const c of r.retried) retriedCauses.set(`${r.edge}\t${c}`, (retriedCauses.get(`${r.edge}\t${c}`) ?? 0) + 1);
    report.tables.push({
      title: "Attempts retried, by cause (what the client's retry policy absorbed)",
      rows: retriedCauses.size === 0 ? [{ edge: "-", cause: "(none)", attempts: 0 }] : [...retriedCauses].sort((a, b) => b[1] - a[1]).map(([k, n]) => ({ edge: k.split("\t")[0]!, cause: k.split("\t")[1]!, attempts: n })),
    });
    if (notPersisted.length > 0) {
      report.tables.push({
        title: "Answered but not persisted",
        rows: notPersisted.slice(0, 50).map((r) => ({
          edge: r.edge,
          consult: r.id,
          "started s": secs(r.startMs - t0),
          "answered s": secs(r.endMs! - t0),
          "answered by": r.servedBy ?? "?",
          consultation: r.consultationId!,
          "retried before": r.retried.join("; ") || "-",
        })),
      });
    }
    report.tables.push({
      title: "Faults",
      rows: faults.sort((a, b) => a.atMs - b.atMs).map((f) => ({ "t s": secs(f.atMs), fault: f.fault, "back after s": f.downMs === undefined ? "–" : secs(f.downMs), detail: f.detail })),
    });

    const all = perEdge("all");
    const okShare = all.filter((r) => r.ok).length / all.length;
    const met = (ok: boolean) => (ok ? "**met**" : "**not met**");
    const overallGap = gapOf(all);
    report.notes.push(
      `Goal: ≥ 99.9 % of consults succeed: ${met(okShare >= GOAL_SUCCESS)} (${pct(okShare)}: ${all.filter((r) => r.ok).length} of ${all.length}; REST ${pct(perEdge("REST").filter((r) => r.ok).length / perEdge("REST").length)}, NATS ${pct(perEdge("NATS").filter((r) => r.ok).length / perEdge("NATS").length)}, JetStream ${pct(completedJobs.length / Math.max(1, jobs.length))}).`,
      `Goal: no job lost: ${met(lostJobs.length === 0)} (${lostJobs.length} of ${ackedIds.size} acknowledged; ${deadJobs.length} dead-lettered, counted as failed consults, not lost).`,
      `Goal: no job run twice: ${met(duplicated.size === 0)} (${duplicated.size} completed more than once; ${consultedMoreThanOnce.length} had more than one consultation made for them).`,
      `Consults answered 200 (or jobs completed) but not persisted: ${notPersisted.length} (looked up by consultation id in the consultations table after the drain). ` +
        `Answered 200 through REST or NATS with no circle.consult audit row for their request id: ${notAudited.length} (the audit row is written after the answer).`,
      `Longest unavailability (no consult succeeding on any edge): ${secs(overallGap.ms)} s, ${secs(overallGap.start - t0)}–${secs(overallGap.end - t0)} s into the run (faults then: ${faultsNear(overallGap)}). Per edge in the first table; a JetStream job succeeds when it completes, so its figure includes a job's wait for redelivery after its node died (ack wait ${s.ackWaitMs ?? 30_000} ms).`,
      `Load ran ${secs(loadStopped - t0)} s at ${s.rate} consults/s (${(all.length / ((loadStopped - t0) / 1000)).toFixed(1)} started per second); seed ${s.seed}. Node logs: ${dir} (kept only when a goal was not met or an answer was not persisted).`,
      `The machine was shared with other work: load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on 2 cores.`,
    );
    if (s.durationSec < 180) report.notes.push(`A run of ${s.durationSec} s, shorter than the three minutes the goals are set for (CHAOS_DURATION_SEC=180, the default): a check of the tooling, not a result.`);
    if (notPersisted.length > 0) {
      report.notes.push(
        "A consultation answered but missing after the run: its id is in the node logs kept in the directory named above (the circle answers only after PostgreSQL has committed and flushed the row).",
      );
    }
    keepDir = !(okShare >= GOAL_SUCCESS && lostJobs.length === 0 && duplicated.size === 0 && notPersisted.length === 0);
    sub.unsubscribe();
  } finally {
    await nc?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    if (providers && providers.exitCode === null) providers.kill("SIGTERM");
    await Promise.all([nats?.dispose(), redis?.dispose(), pg?.dispose()].map((p) => p?.catch((err: unknown) => console.error(err))));
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    else progress(`node logs kept in ${dir}`);
  }
  saveReport(report);
}

if (require.main === module) {
  runChaos().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
