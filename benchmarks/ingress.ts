import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import type { Consultation } from "../lib/circle/consultation";
import { AccessTokens } from "../lib/security/access-tokens";
import { coreSubjects } from "../lib/transport/subjects";
import { dropSchema } from "./bench-cleanup";
import { QUESTION } from "./consult-provider";
import { startChild, stopChild } from "./mcp-bench-support";
import { median, newReport, saveReport, type Row } from "./report";
import { numbersEnv } from "./bench-env";

/**
 * The same consults through CORE's two edges for other systems, side by side
 * in one run: NATS request/reply on `<prefix>.v1.consult` (a plain nats.js
 * client) and REST `POST /api/v1/consult` (fetch, keep-alive). One CORE node
 * (`core start`, NATS and PostgreSQL, metrics on) in a process of its own;
 * five experts answered by fixed-latency OpenAI-compatible servers
 * (benchmarks/consult-provider.ts) in another; the clients here. Each request
 * carries the same operator's access token and the same body, cache bypassed.
 *
 * Knobs: X_QUICK (1 s runs), X_CONCURRENCY=1,16, X_ROUNDS=3.
 */

const LATENCIES_MS = [20, 25, 30, 35, 40];
const SLOWEST_MS = Math.max(...LATENCIES_MS);
const CONCURRENCY = numbersEnv("X_CONCURRENCY", [1, 16]);
const ROUNDS = process.env.X_ROUNDS ? Number(process.env.X_ROUNDS) : 3;
const WARM_MS = 500;
const RUN_MS = process.env.X_QUICK ? 1_000 : 3_000;
const SERVICES = "api,auth,audit,supervisor,aggregator,experts,circle,ingress";
const BODY = { question: QUESTION, cache: false, timeoutMs: 10_000 };

type Edge = "NATS request/reply" | "REST POST /api/v1/consult";

interface RunResult {
  rate: number;
  p50: number;
  p99: number;
}

/** What a consult must be for its timing to count: all five answered, agreeing on Paris. */
function check(c: Consultation): void {
  const answered = c.outcomes?.filter((o) => o.status === "answered").length;
  if (c.status !== "completed" || answered !== LATENCIES_MS.length || c.consensus?.vote?.answer !== "paris") {
    throw new Error(`unexpected consult: ${JSON.stringify(c).slice(0, 300)}`);
  }
}

/** `concurrency` callers consulting back to back (closed loop), spread over one consult's time at the start; the consults started in the measured window count. */
async function drive(call: () => Promise<void>, concurrency: number): Promise<RunResult> {
  const t0 = Date.now();
  const measureFrom = t0 + WARM_MS;
  const end = measureFrom + RUN_MS;
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * SLOWEST_MS) / concurrency));
      for (;;) {
        const started = Date.now();
        if (started >= end) break;
        const h0 = process.hrtime.bigint();
        await call();
        if (started >= measureFrom) samples.push(Number(process.hrtime.bigint() - h0) / 1e6);
      }
    }),
  );
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))]!;
  return { rate: samples.length / (RUN_MS / 1000), p50: at(0.5), p99: at(0.99) };
}


export async function runIngressBenchmark(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const report = newReport(
    "ingress",
    `The same consult through CORE's two edges for other systems, in one run: NATS request/reply on <prefix>.v1.consult (nats.js client, Authorization header) ` +
      `and REST POST /api/v1/consult (fetch with keep-alive, Authorization header). One CORE node (\`core start --services ${SERVICES}\`, NATS ${natsUrl}, ` +
      `PostgreSQL ${databaseUrl.replace(/\/\/[^@/]*@/, "//")}, metrics on, log level info) in its own process; ${LATENCIES_MS.length} experts answered by fixed-latency ` +
      `chat completions servers (${LATENCIES_MS.join(", ")} ms, benchmarks/consult-provider.ts) in another; the clients in the benchmark's process. ` +
      `Closed loop: N callers consulting back to back, cache bypassed; per cell ${WARM_MS} ms of warm-up then ${RUN_MS} ms measured, ${ROUNDS} rounds alternating which edge goes first, medians.`,
  );
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const tag = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-bench-ingress-"));
  const schema = `bench_ingress_${tag}`;
  const subjects = coreSubjects(`bench-${tag}`.replace(/_/g, "-"));
  const secret = randomBytes(48).toString("base64");
  const token = `Bearer ${new AccessTokens({ secret }).issue({ id: "bench-operator", roles: ["operator"] }).token}`;
  const children: ChildProcess[] = [];
  let nc: NatsConnection | undefined;
  const rows: Row[] = [];
  try {
    const providers = await startChild([join(__dirname, "consult-provider.js"), ...LATENCIES_MS.map(String)], { ready: /ready (\{.*\})/, name: "the provider stub", echo: true, timeoutMs: 120_000 });
    children.push(providers.child);
    const ports = (JSON.parse(providers.match[1]!) as { ports: number[] }).ports;
    const configFile = join(dir, "core.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        experts: ports.map((port, i) => ({ id: `e${i + 1}-${LATENCIES_MS[i]}ms`, provider: "openai-compatible", model: `stub-${i + 1}`, baseUrl: `http://127.0.0.1:${port}/v1` })),
      }),
    );
    const node = await startChild([join(__dirname, "..", "bin", "core.js"), "start", "--node-id", "bench-ingress", "--services", SERVICES], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CORE_CONFIG: configFile,
        CORE_JWT_SECRET: secret,
        CORE_NAMESPACE: `bench-ingress-${tag}`.replace(/_/g, "-"),
        CORE_SUBJECT_PREFIX: subjects.prefix,
        CORE_API_PORT: "0",
        CORE_METRICS_PORT: "0",
        CORE_LOG_LEVEL: "info",
        NATS_URL: natsUrl,
        DATABASE_URL: databaseUrl,
        CORE_DB_SCHEMA: schema,
      },
      ready: /listening: api (http:\/\/\S+?),/,
      name: "the CORE node",
      echo: true,
      timeoutMs: 120_000,
    });
    children.push(node.child);
    const api = node.match[1]!;
    nc = await connect({ servers: natsUrl, name: "bench-ingress-client" });
    const conn = nc;
    const hdrs = natsHeaders();
    hdrs.set("Authorization", token);
    const body = JSON.stringify(BODY);
    const data = new TextEncoder().encode(body);
    const calls: Record<Edge, () => Promise<void>> = {
      "NATS request/reply": async () => {
        const msg = await conn.request(subjects.consult, data, { timeout: 15_000, headers: hdrs });
        if (msg.headers?.get("Core-Status") !== "200") throw new Error(`NATS: ${msg.headers?.get("Core-Status")} ${msg.string().slice(0, 300)}`);
        check(msg.json<Consultation>());
      },
      "REST POST /api/v1/consult": async () => {
        const res = await fetch(`${api}/api/v1/consult`, { method: "POST", headers: { "content-type": "application/json", authorization: token }, body });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`REST: ${res.status} ${text.slice(0, 300)}`);
        check(JSON.parse(text) as Consultation);
      },
    };
    const edges = Object.keys(calls) as Edge[];
    // Warm-up: JIT, connection pools, the store's first writes.
    for (const edge of edges) await drive(calls[edge], 16);

    for (const concurrency of CONCURRENCY) {
      const runs = Object.fromEntries(edges.map((e) => [e, [] as RunResult[]])) as Record<Edge, RunResult[]>;
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? edges : [...edges].reverse();
        for (const edge of order) {
          runs[edge].push(await drive(calls[edge], concurrency));
          process.stderr.write(".");
        }
      }
      for (const edge of edges) {
        const r = runs[edge];
        rows.push({
          edge,
          concurrency,
          "consults/s": median(r.map((x) => x.rate)).toFixed(1),
          "p50 ms": median(r.map((x) => x.p50)).toFixed(2),
          "p99 ms": median(r.map((x) => x.p99)).toFixed(2),
          "p50 over the slowest expert ms": (median(r.map((x) => x.p50)) - SLOWEST_MS).toFixed(2),
          "consults/s by round": r.map((x) => x.rate.toFixed(0)).join(" / "),
        });
      }
    }
    process.stderr.write("\n");
  } finally {
    await nc?.close().catch(() => undefined);
    for (const child of children.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(databaseUrl, schema).catch((err: unknown) => console.error(err));
  }

  report.tables.push({ title: `circle.consult through NATS and through REST: ${LATENCIES_MS.length} experts, the slowest answering in ${SLOWEST_MS} ms`, rows });
  report.notes.push(
    `Both edges do the same work around the consult: credentials (JWT verification, cached), the REST route's schemas, the RBAC middleware where circle.consult runs, an audit row, metrics; the consult itself (five expert calls, consensus, store write) is the bulk of each request. What differs is the transport: an HTTP request over a keep-alive connection to the node, against a NATS request through the NATS server (client → server → the node's own ingress connection, and the reply back the same way).`,
    "p50 over the slowest expert = p50 − the slowest stub's fixed latency: what CORE and the edge add, the stub's timers and loopback HTTP to the experts included.",
    `The machine was shared with other work: load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on 2 cores; the 'by round' column shows how much runs varied.`,
  );
  saveReport(report);
}
