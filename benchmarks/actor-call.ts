import { ServiceBroker } from "moleculer";
import { defineActor } from "../actors/actor-spec";
import { loadConfig } from "../config";
import { createBrokerOptions } from "../moleculer.config";
import createSupervisorService from "../services/supervisor.service";
import { newReport, saveReport, type Row } from "./report";

/**
 * A remote call through CORE's actor layer (mailbox, supervision, deadline and
 * retry middleware, breaker, error regenerator) against a bare Moleculer
 * service, over the same NATS, side by side in one run. Each variant is two
 * brokers in this process (caller and callee) on their own namespace.
 */

const PAYLOADS = process.env.X_QUICK ? [1_024] : [1_024, 16_384];
const CONCURRENCY = process.env.X_QUICK ? [1, 256] : [1, 16, 256];
const ROUNDS = 7;
const RUN_MS = 2_000;

interface Pair {
  client: ServiceBroker;
  server: ServiceBroker;
  action: string;
}

export async function barePair(natsUrl: string, tag: string): Promise<Pair> {
  const common = { namespace: `bench-bare-${tag}`, logger: false as const, serializer: "JSON" as const, transporter: { type: "NATS" as const, options: { url: natsUrl } } };
  const server = new ServiceBroker({ ...common, nodeID: "server" });
  server.createService({ name: "bare", actions: { echo: (ctx: { params: unknown }) => ctx.params } });
  const client = new ServiceBroker({ ...common, nodeID: "client" });
  await Promise.all([server.start(), client.start()]);
  await client.waitForServices("bare", 10_000);
  return { client, server, action: "bare.echo" };
}

export async function corePair(natsUrl: string, tag: string): Promise<Pair> {
  const env = (nodeId: string) => ({ NATS_URL: natsUrl, CORE_NAMESPACE: `bench-core-${tag}`, CORE_NODE_ID: nodeId, CORE_METRICS: "false", CORE_LOG_LEVEL: "fatal" });
  const serverConfig = loadConfig(env("server"));
  const server = new ServiceBroker(createBrokerOptions(serverConfig));
  const echo = defineActor({ name: "bench.echo", kind: "bench", actions: { echo: { handler: (ctx) => ctx.params } } });
  server.createService(createSupervisorService({ config: serverConfig, store: undefined, actors: [echo], fatal: () => undefined }));
  const client = new ServiceBroker(createBrokerOptions(loadConfig(env("client"))));
  await Promise.all([server.start(), client.start()]);
  await client.waitForServices("bench.echo", 10_000);
  return { client, server, action: "bench.echo.echo" };
}

interface RunResult {
  rate: number;
  p50us: number;
  p99us: number;
}

export async function drive(pair: Pair, payload: object, concurrency: number): Promise<RunResult> {
  for (let i = 0; i < 200; i++) await pair.client.call(pair.action, payload);
  const latencies: number[] = [];
  const end = Date.now() + RUN_MS;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        await pair.client.call(pair.action, payload);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1_000);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50us: latencies[Math.floor(latencies.length / 2)]!, p99us: latencies[Math.floor(latencies.length * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runActorCallBenchmark(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const report = newReport(
    "actor-call",
    `Remote call through CORE's actor layer vs a bare Moleculer service, over NATS (${natsUrl}), JSON serializer; ${RUN_MS} ms per run, ${ROUNDS} rounds in alternating order, medians.`,
  );
  const tag = String(process.pid);
  const [bare, core] = [await barePair(natsUrl, tag), await corePair(natsUrl, tag)];
  const rows: Row[] = [];
  try {
    for (const size of PAYLOADS) {
      const payload = { data: "x".repeat(size) };
      for (const concurrency of CONCURRENCY) {
        const runs = { bare: [] as RunResult[], core: [] as RunResult[] };
        for (let round = 0; round < ROUNDS; round++) {
          const order = round % 2 === 0 ? (["bare", "core"] as const) : (["core", "bare"] as const);
          for (const variant of order) runs[variant].push(await drive(variant === "bare" ? bare : core, payload, concurrency));
        }
        const b = { rate: median(runs.bare.map((r) => r.rate)), p50: median(runs.bare.map((r) => r.p50us)), p99: median(runs.bare.map((r) => r.p99us)) };
        const c = { rate: median(runs.core.map((r) => r.rate)), p50: median(runs.core.map((r) => r.p50us)), p99: median(runs.core.map((r) => r.p99us)) };
        rows.push({
          payload: `${size / 1024} KB`,
          concurrency,
          "bare calls/s": Math.round(b.rate),
          "CORE calls/s": Math.round(c.rate),
          "CORE / bare": `${((c.rate / b.rate) * 100).toFixed(1)} %`,
          "bare p50 µs": Math.round(b.p50),
          "CORE p50 µs": Math.round(c.p50),
          "added p50 µs": Math.round(c.p50 - b.p50),
          "bare p99 µs": Math.round(b.p99),
          "CORE p99 µs": Math.round(c.p99),
        });
      }
    }
  } finally {
    await Promise.all([bare.client.stop(), bare.server.stop(), core.client.stop(), core.server.stop()]);
  }
  report.tables.push({ title: "Remote actor call vs bare Moleculer", rows });
  report.notes.push("Targets: CORE keeps at least 85 % of bare throughput and adds under 50 µs at p50.");
  saveReport(report);
}
