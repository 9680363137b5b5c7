import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import type { Consultation } from "../../lib/circle/consultation";
import type { Alert } from "../../lib/monitors/alert";
import type { MemoryStatus } from "../../lib/monitors/memory-watch";
import { startTestBroker } from "../helpers/broker";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * A synthetic leak in a real node: its memory monitor predicts exhaustion
 * before it happens, raises the levels in order, sheds consults at critical
 * and recovers once the memory is released.
 */

const namespace = uniqueName("memory_monitor");
const pg = testSchema("memory_monitor");
const LEAK = join(__dirname, "../fixtures/services/memory-leak.service.js");
const SERVICES = `supervisor,aggregator,experts,circle,memory-monitor,${LEAK}`;
const NODE = "mem-node";
const MB = 1024 * 1024;
const SAMPLE_MS = 200;
/** The node starts at about this share of its limit, whatever its baseline on this machine. */
const START_RATIO = 0.45;

let stub: ProviderStub;
let configFile: string;
let probe: ServiceBroker;
const alerts: Alert[] = [];

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ text: "Memory is finite. Final answer: yes" });
  configFile = writeCoreConfig({ experts: [{ id: "llama", provider: "ollama", model: "llama3.2", baseUrl: stub.baseUrl("ollama") }] });
  // Its own event group: balanced `monitor.alert` events reach one handler per group, this one included.
  probe = await startTestBroker({
    namespace,
    nodeId: "memory-probe",
    services: [{ name: "memory-alerts-probe", events: { "monitor.alert": { group: "memory-monitor-test", handler: (ctx: { params: Alert }) => void alerts.push(ctx.params) } } }],
  });
});

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  await stub?.close();
  await pg.drop();
});

async function startNode(env: Record<string, string>): Promise<CoreProcess> {
  return startClusterNode(NODE, SERVICES, {
    namespace,
    pg,
    env: { CORE_CONFIG: configFile, CORE_MEMORY_SAMPLE_MS: String(SAMPLE_MS), CORE_MEMORY_WINDOW: "10", CORE_LOG_LEVEL: "info", ...env },
  });
}

const status = () => probe.call("memory-monitor.status", {}, { nodeID: NODE }) as Promise<MemoryStatus>;
const consult = () => probe.call("circle.consult", { question: "Is memory finite?" }) as Promise<Consultation>;
const sampledAfter = (at: number) => waitFor(async () => ((s) => (Date.parse(s.sampledAt) > at ? s : undefined))(await status()), 10_000, "a fresh memory sample");

/** Once start-up is over: a full window of samples and no memory alert raised. */
const settled = () =>
  waitFor(async () => {
    const s = await status();
    return s.samples >= 10 && s.raisedAlerts.length === 0 ? s : undefined;
  }, 30_000, "the node's memory to settle");

const LEVELS = ["normal", "warning", "high", "critical", "emergency"];

/** Leaks `stepMb` at a time, each step seen by the monitor, until the node is at `level`. */
async function leakUntil(level: string, stepMb: number): Promise<MemoryStatus> {
  for (let steps = 0; steps < 100; steps++) {
    const before = Date.now();
    const s = await sampledAfter(before - SAMPLE_MS);
    if (LEVELS.indexOf(s.level) >= LEVELS.indexOf(level)) return s;
    await probe.call("memory-leak.retain", { mb: stepMb }, { nodeID: NODE });
    await sampledAfter(Date.now());
  }
  throw new Error(`the node never reached ${level}`);
}

describe("memory monitor", () => {
  it("predicts exhaustion of a leaking node first, raises the levels in order, sheds consults at critical and recovers", async () => {
    // This machine's baseline: the same node, started once without a limit.
    const measuring = await startNode({});
    await waitFor(() => status().then(() => true), 20_000, "the memory monitor");
    expect((await consult()).status).toBe("completed");
    const baseline = (await settled()).rssBytes;
    expect(await measuring.stop()).toBe(0);

    const limitMb = Math.ceil(baseline / START_RATIO / MB);
    const metricsPort = await freePort();
    const node = await startNode({ CORE_MEMORY_LIMIT_MB: String(limitMb), CORE_METRICS: "true", CORE_METRICS_PORT: String(metricsPort) });
    // The node must know of the probe's listener before the leak, or it would emit to nobody.
    await waitFor(async () => {
      const events = (await probe.call("$node.events", { onlyLocal: false, skipInternal: true }, { nodeID: NODE })) as Array<{ name: string }>;
      return events.some((e) => e.name === "monitor.alert");
    }, 20_000, "the node to see the alert listener");
    expect((await consult()).status).toBe("completed");
    const start = await settled();
    expect(start).toMatchObject({ nodeID: NODE, level: "normal", shedding: false, rssLimitBytes: limitMb * MB, limitedBy: "rss" });
    // A slow drift after start-up may give a far-off prediction; settled() already waited until no alert (prediction included) was raised.
    expect(start.usedRatio).toBeLessThan(0.65);
    alerts.length = 0;

    // The leak, 2 % of the limit a step, up to critical.
    const stepMb = Math.max(1, Math.round(limitMb * 0.02));
    const critical = await leakUntil("critical", stepMb);
    expect(critical.shedding).toBe(true);

    // New consults are refused at once, retryably, saying when to retry.
    const refused = await consult().catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: "MEMORY_PRESSURE", status: 503, retryable: true, data: { action: "circle.consult", nodeID: NODE, retryAfterSec: 1 } });
    expect((refused as Error).message).toMatch(/^Node mem-node is refusing new work: its memory is at 9\d % of its limit \((critical|emergency)\)/);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/core_memory_shedding\{[^}]*nodeID="mem-node"[^}]*\} 1/);
    expect(metrics).toMatch(/core_memory_level\{[^}]*\} [34]/);
    expect(metrics).toMatch(/core_load_shed_total\{[^}]*action="circle.consult"[^}]*\} 1/);
    expect(metrics).toMatch(new RegExp(`core_memory_limit_bytes\\{[^}]*\\} ${limitMb * MB}`));

    // On to emergency.
    const emergency = await leakUntil("emergency", stepMb);
    expect(emergency.usedRatio).toBeGreaterThanOrEqual(0.95);
    await waitFor(() => alerts.some((a) => a.key === "memory.level.emergency"), 10_000, "the emergency alert");

    const raised = alerts.filter((a) => a.state === "raised");
    const levels = raised.filter((a) => a.key.startsWith("memory.level."));
    expect(levels.map((a) => a.key)).toEqual(["warning", "high", "critical", "emergency"].map((l) => `memory.level.${l}`));
    expect(levels.map((a) => a.severity)).toEqual(["warning", "high", "critical", "emergency"]);
    expect(levels.every((a) => a.monitor === "memory" && a.nodeID === NODE)).toBe(true);
    // The prediction came first: before the emergency level, with the limit still ahead.
    const prediction = raised.find((a) => a.key === "memory.exhaustion_predicted")!;
    expect(prediction).toBeDefined();
    expect(raised.indexOf(prediction)).toBeLessThan(raised.indexOf(levels[3]!));
    expect(prediction).toMatchObject({ severity: "high", threshold: 600, details: { predictedExhaustionSec: expect.any(Number) } });
    expect(prediction.value).toBeGreaterThan(0);
    expect(prediction.details!.rssBytes as number).toBeLessThan(0.95 * limitMb * MB);
    expect(prediction.message).toMatch(/^Memory of node mem-node will reach its limit in about \d+ s at its current trend/);

    // The leak is released: every level resolves, highest first, and consults are taken again.
    await probe.call("memory-leak.release", {}, { nodeID: NODE });
    const recovered = await waitFor(async () => {
      const s = await status();
      return s.level === "normal" && !s.shedding && s.raisedAlerts.length === 0 ? s : undefined;
    }, 20_000, "the node to recover");
    expect(recovered.usedRatio).toBeLessThan(0.67);
    await waitFor(() => alerts.some((a) => a.state === "resolved" && a.key === "memory.exhaustion_predicted"), 10_000, "the prediction to be resolved");
    const resolvedLevels = alerts.filter((a) => a.state === "resolved" && a.key.startsWith("memory.level."));
    expect(resolvedLevels.map((a) => a.key)).toEqual(["emergency", "critical", "high", "warning"].map((l) => `memory.level.${l}`));
    expect(resolvedLevels[1]!.message).toMatch(/below critical again \(under 87 %\); new consults are taken again$/);
    expect((await consult()).status).toBe("completed");

    expect(await node.stop()).toBe(0);
    expect(node.output).toMatch(/Memory monitor: RSS limit \d+ MB \(configured\)/);
    expect(node.output).toMatch(/Refusing new consults \(503 MEMORY_PRESSURE\)/);
    expect(node.output).toMatch(/Taking new consults again/);
  });
});
