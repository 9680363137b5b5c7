import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { connect, type NatsConnection } from "nats";
import type { Alert } from "../../lib/monitors/alert";
import { ALERT_DELIVERY_HEADER, ALERT_SIGNATURE_HEADER, verifyAlertSignature } from "../../lib/monitors/alert-webhook";
import { startTestBroker } from "../helpers/broker";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { deleteStreams } from "../helpers/nats-cleanup";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { testRedisPrefix } from "../helpers/redis-prefix";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * Alerts end to end: real core processes, their monitors, the alerts
 * service, a webhook receiver (a local HTTP server checking the signature)
 * and a plain NATS subscriber on the events subject.
 */

const namespace = uniqueName("alerts");
const subjectPrefix = uniqueName("alerts").replace(/_/g, "-");
const pg = testSchema("alerts");
const redis = testRedisPrefix("alerts");
const SECRET = "alerts-test-secret-0123456789abcdef";

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  payload: { namespace: string; alert: Alert };
}

let hook: Server;
let hookUrl: string;
const deliveries: Delivery[] = [];
let nc: NatsConnection;
const published: Array<{ subject: string; alert: Alert }> = [];
let stub: ProviderStub;
let probe: ServiceBroker | undefined;
let redisServer: ChildProcess | undefined;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, body, payload: JSON.parse(body) as Delivery["payload"] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/core-alerts`;
  nc = await connect({ servers: NATS_URL });
  const sub = nc.subscribe(`${subjectPrefix}.events.alerts.>`);
  void (async () => {
    for await (const m of sub) published.push({ subject: m.subject, alert: JSON.parse(m.string()) as Alert });
  })();
  stub = await startProviderStub({ apiKey: "k" });
});

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  redisServer?.kill("SIGKILL");
  await nc?.close();
  await stub?.close();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
  await deleteStreams([`KV_${namespace}_leases`]);
  await pg.drop();
  await redis.clean();
});

const alertEnv = (extra: Record<string, string>) => ({
  CORE_SUBJECT_PREFIX: subjectPrefix,
  CORE_ALERT_WEBHOOK_URL: hookUrl,
  CORE_ALERT_WEBHOOK_SECRET: SECRET,
  ...extra,
});

/** The first delivery whose alert matches, once it arrived. */
const delivered = (what: string, match: (a: Alert) => boolean) =>
  waitFor(() => deliveries.find((d) => match(d.payload.alert)), 30_000, what);

/** A redis-server of this test's own, so it can be stopped. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  await waitFor(() => /Ready to accept connections/.test(out), 10_000, `redis-server on ${port}`);
  return child;
}

describe("alerts", () => {
  it("a budget crossing 80 % reaches the webhook signed, NATS and alerts.list, once", async () => {
    stub.always({ text: "Water boils at one hundred degrees Celsius at sea level under standard atmospheric pressure, as every textbook says." });
    const configFile = writeCoreConfig({
      // $1 per output token, 10 tokens at most: one consult costs $10, 83 % of $12 (and its worst case fits the budget).
      experts: [{ id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), maxTokens: 10, price: { inputPerMTok: 0, outputPerMTok: 1_000_000 } }],
      budgets: [{ principal: "system", period: "day", limitUsd: 12 }],
    });
    const node = await startClusterNode("alerts-cost", "supervisor,aggregator,experts,circle,budgets,alerts,cost-monitor", {
      namespace,
      pg,
      env: alertEnv({ CORE_CONFIG: configFile, OPENAI_API_KEY: "k", REDIS_URL: redis.url, CORE_REDIS_PREFIX: redis.prefix, CORE_COST_CHECK_MS: "300" }),
    });
    await node.waitForOutput(/Singleton cost-monitor: lease acquired by alerts-cost/, 20_000);
    probe = await startTestBroker({ namespace, nodeId: "alerts-probe" });
    await waitFor(() => probe!.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "circle"), 20_000, "circle visible");

    const consultation = (await probe.call("circle.consult", { question: "At what temperature does water boil?" }, { timeout: 60_000 })) as { status: string };
    expect(consultation.status).toBe("completed");

    const d = await delivered("the budget's warning at the webhook", (a) => a.key === "cost.budget:system/day");
    expect(d.payload).toEqual({
      namespace,
      alert: expect.objectContaining({ monitor: "cost", severity: "warning", state: "raised", nodeID: "alerts-cost", value: 10, threshold: expect.closeTo(9.6, 6) }),
    });
    expect(d.payload.alert.message).toMatch(/^Budget system\/day is at 83 % of its daily limit: \$10\.0000 of \$12\.0000 used/);
    expect(verifyAlertSignature(SECRET, d.body, d.headers[ALERT_SIGNATURE_HEADER] as string)).toBe(true);
    expect(verifyAlertSignature("another-secret-0123456789", d.body, d.headers[ALERT_SIGNATURE_HEADER] as string)).toBe(false);
    expect(d.headers[ALERT_DELIVERY_HEADER]).toMatch(/^[0-9a-f-]{36}$/);

    // The same alert on NATS, for systems outside the cluster.
    const onNats = await waitFor(() => published.find((p) => p.alert.key === "cost.budget:system/day"), 10_000, "the alert on NATS");
    expect(onNats.subject).toBe(`${subjectPrefix}.events.alerts.cost`);
    expect(onNats.alert).toEqual(d.payload.alert);

    const list = (await probe.call("alerts.list", {})) as { alerts: Alert[]; unreachable: unknown[] };
    expect(list.unreachable).toEqual([]);
    expect(list.alerts.map((a) => `${a.key} ${a.severity} ${a.nodeID}`)).toContain("cost.budget:system/day warning alerts-cost");
    const status = (await probe.call("cost-monitor.status", {})) as { budgets: Array<{ name: string; usedUsd: number }> };
    expect(status.budgets).toEqual([expect.objectContaining({ name: "system/day", usedUsd: 10, limitUsd: 12 })]);

    // Checked every 300 ms since: still one delivery for this budget (once per period per threshold).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(deliveries.filter((x) => x.payload.alert.key === "cost.budget:system/day")).toHaveLength(1);
    expect(node.output).toMatch(/Alert raised \[warning\] cost\.budget:system\/day on alerts-cost: Budget system\/day is at 83 %/);
    expect(await node.stop()).toBe(0);
  });

  it("a node's Redis going down and coming back reaches the webhook as raised, then resolved", async () => {
    const port = await freePort();
    redisServer = await startRedis(port);
    const metricsPort = await freePort();
    const node = await startClusterNode("alerts-health", "supervisor,alerts,health-monitor", {
      namespace,
      pg,
      env: alertEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, CORE_REDIS_PREFIX: redis.prefix, CORE_HEALTH_CHECK_MS: "300", CORE_METRICS: "true", CORE_METRICS_PORT: String(metricsPort) }),
    });
    /** One sample of the node's Prometheus metric `name` with `labels`, or undefined. */
    const metric = async (name: string, labels: string): Promise<number | undefined> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.split(",").every((kv) => l.includes(kv)));
      return line === undefined ? undefined : Number(line.split(" ").at(-1));
    };
    await node.waitForOutput(/Health monitor: checking NATS, store, Redis and the supervision tree every 300 ms/, 20_000);
    probe ??= await startTestBroker({ namespace, nodeId: "alerts-probe" });
    await waitFor(() => probe!.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string; nodeID?: string }) => s.name === "alerts" && s.nodeID === "alerts-health"), 20_000, "alerts-health visible");
    // Healthy for a few samples: nothing raised.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(deliveries.filter((x) => x.payload.alert.monitor === "health")).toEqual([]);

    const downAt = Date.now();
    redisServer.kill("SIGKILL");
    const raised = await delivered("Redis down at the webhook", (a) => a.key === "health.shared" && a.state === "raised");
    const raisedAfterMs = Date.now() - downAt;
    expect(raised.payload.alert).toMatchObject({ monitor: "health", severity: "warning", nodeID: "alerts-health", details: { dependency: "shared", critical: false } });
    expect(raised.payload.alert.message).toMatch(/^Redis \(shared counters, budgets, rate limits\) is down on node alerts-health \(the node runs degraded\): /);
    expect(verifyAlertSignature(SECRET, raised.body, raised.headers[ALERT_SIGNATURE_HEADER] as string)).toBe(true);
    expect(await delivered("the cache down too", (a) => a.key === "health.cache" && a.state === "raised")).toBeDefined();
    const probeList = (await probe!.call("alerts.list", { monitor: "health" })) as { alerts: Alert[] };
    expect(probeList.alerts.map((a) => a.key).sort()).toEqual(["health.cache", "health.shared"]);
    expect(await metric("core_alerts_total", 'monitor="health",severity="warning",state="raised"')).toBe(2);
    expect(await metric("core_alerts_active", 'monitor="health",severity="warning"')).toBe(2);

    const upAt = Date.now();
    redisServer = await startRedis(port);
    const resolved = await delivered("Redis back at the webhook", (a) => a.key === "health.shared" && a.state === "resolved");
    const resolvedAfterMs = Date.now() - upAt;
    expect(resolved.payload.alert.message).toBe("Redis (shared counters, budgets, rate limits) is back on node alerts-health: connected");
    await waitFor(async () => ((await probe!.call("alerts.list", { monitor: "health" })) as { alerts: Alert[] }).alerts.length === 0, 20_000, "no active health alert");
    expect(await metric("core_alerts_active", 'monitor="health",severity="warning"')).toBe(0);
    expect(await metric("core_alerts_total", 'monitor="health",severity="warning",state="resolved"')).toBe(2);
    console.log(`health alert timings: raised ${raisedAfterMs} ms after Redis was killed, resolved ${resolvedAfterMs} ms after it came back (samples every 300 ms)`);
    expect(await node.stop()).toBe(0);
  });
});
