import { ServiceBroker, type BrokerOptions } from "moleculer";
import { defineActor } from "../actors/actor-spec";
import { loadConfig } from "../config";
import { createBrokerOptions } from "../moleculer.config";
import createSupervisorService from "../services/supervisor.service";
import { median, newReport, saveReport, type Row } from "./report";

/**
 * CPU time per call of CORE's actor layer, in one process, without a network:
 * local calls with 16 in flight, a bare broker against brokers with CORE's
 * options added one part at a time, and a CORE actor. Process CPU time per
 * call is steadier than the wall-clock numbers of benchmarks/actor-call on a
 * shared machine, so it shows what each layer costs and whether a change
 * helped.
 */

const ROUNDS = 5;
const ROUND_MS = 700;
const IN_FLIGHT = 16;
const PAYLOAD = { data: "x".repeat(1_000) };

function coreOptions(nodeID: string): BrokerOptions {
  return createBrokerOptions(loadConfig({ CORE_NODE_ID: nodeID, CORE_METRICS: "false", CORE_LOG_LEVEL: "fatal" }));
}

/** A bare broker with some of CORE's options (by key) added. */
function withParts(nodeID: string, keys: Array<keyof BrokerOptions>): BrokerOptions {
  const core = coreOptions(nodeID);
  const options: BrokerOptions = { nodeID, logger: false };
  for (const key of keys) (options as Record<string, unknown>)[key] = core[key];
  return options;
}

interface Setup {
  name: string;
  what: string;
  start(): Promise<{ broker: ServiceBroker; action: string }>;
}

const bareService = async (options: BrokerOptions) => {
  const broker = new ServiceBroker(options);
  broker.createService({ name: "bare", actions: { echo: (ctx: { params: unknown }) => ctx.params } });
  await broker.start();
  return { broker, action: "bare.echo" };
};

const SETUPS: Setup[] = [
  { name: "bare", what: "Moleculer with default options, a plain service", start: () => bareService({ nodeID: "bare", logger: false }) },
  { name: "+ breaker", what: "Moleculer's circuit breaker as CORE configures it", start: () => bareService(withParts("cb", ["circuitBreaker"])) },
  { name: "+ middlewares", what: "CORE's resilience (deadline, retries) and drain middlewares", start: () => bareService(withParts("mw", ["middlewares"])) },
  { name: "CORE options", what: "every CORE broker option, a plain service", start: () => bareService(coreOptions("opts")) },
  {
    name: "CORE actor",
    what: "every CORE broker option, a supervised actor (mailbox, drain, metrics off)",
    async start() {
      const config = loadConfig({ CORE_NODE_ID: "actor", CORE_METRICS: "false", CORE_LOG_LEVEL: "fatal" });
      const broker = new ServiceBroker(createBrokerOptions(config));
      const echo = defineActor({ name: "bench.echo", kind: "bench", actions: { echo: { handler: (ctx) => ctx.params } } });
      broker.createService(createSupervisorService({ config, store: undefined, shared: undefined, actors: [echo], fatal: () => undefined }));
      await broker.start();
      await broker.waitForServices("bench.echo", 10_000);
      return { broker, action: "bench.echo.echo" };
    },
  },
];

/** Process CPU time (user + system) per call, in µs, over `ms` of calls with IN_FLIGHT at once. */
async function cpuPerCall(broker: ServiceBroker, action: string, ms: number): Promise<number> {
  let calls = 0;
  const end = Date.now() + ms;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < end) {
        for (let i = 0; i < 50; i++) {
          await broker.call(action, PAYLOAD);
          calls++;
        }
      }
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}


export async function runActorCpuBenchmark(): Promise<void> {
  const report = newReport(
    "actor-cpu",
    `CPU time per local call (process CPU, user + system, per call), ${IN_FLIGHT} in flight, 1 KB payload, in one process with no network: a bare broker, then CORE's parts added; ${ROUNDS} rounds of ${ROUND_MS} ms in turn, medians.`,
  );
  const started = [];
  for (const setup of SETUPS) started.push({ setup, ...(await setup.start()) });
  const samples = new Map<string, number[]>(SETUPS.map((s) => [s.name, []]));
  for (const s of started) await cpuPerCall(s.broker, s.action, ROUND_MS); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of started) samples.get(s.setup.name)!.push(await cpuPerCall(s.broker, s.action, ROUND_MS));
  }
  const bare = median(samples.get("bare")!);
  const rows: Row[] = SETUPS.map((s) => {
    const us = median(samples.get(s.name)!);
    return { setup: s.name, what: s.what, "CPU µs per call": us.toFixed(2), "added µs": s.name === "bare" ? "–" : (us - bare).toFixed(2) };
  });
  report.tables.push({ title: "Local calls: CPU per call by layer", rows });
  report.notes.push(
    "A remote call pays the caller's part (resilience middleware, breaker) on one node and the actor's part on the other, plus serialization and NATS; benchmarks/actor-call measures that end to end.",
  );
  for (const s of started) await s.broker.stop();
  saveReport(report);
}
