import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { connect, type NatsConnection } from "nats";
import { coreSubjects } from "../../lib/transport/subjects";
import { DEFAULT_SERVICES } from "../../services";
import { startTestBroker } from "../helpers/broker";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { deleteStreams } from "../helpers/nats-cleanup";
import { testSchema } from "../helpers/pg-schema";
import { alertRuleReferences, dashboardReferences, parseExposition, whyMissing, type Exposition } from "../helpers/prometheus-names";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { testRedisPrefix } from "../helpers/redis-prefix";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * Every metric the alert rules (deploy/prometheus/alerts.yml) and the Grafana
 * dashboards (deploy/grafana/dashboards) select is one a running node
 * exports. One `core start` with every default service, a little of each kind
 * of work (a consult with a failing expert, a budget past 80 %, a rate-limited
 * login, a NATS ingress request), then /metrics is scraped and every missing
 * name is reported at once.
 */

const root = join(__dirname, "../..");
const namespace = uniqueName("metrics_names");
const subjectPrefix = uniqueName("metrics").replace(/_/g, "-");
const pg = testSchema("metrics_names");
const redis = testRedisPrefix("metrics_names");
const subjects = coreSubjects(subjectPrefix);

let stub: ProviderStub;
let node: CoreProcess;
let probe: ServiceBroker;
let nc: NatsConnection;
let api: string;
let metricsUrl: string;

const scrape = async (): Promise<{ text: string; exposition: Exposition }> => {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, exposition: parseExposition(text) };
};

/** The value of the sample `name` whose labels include `labels` (the node's own labels come first in each line). */
const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split("\n")) {
    const m = line.match(/^([\w:]+)(?:\{(.*)\})? (\S+)$/);
    if (m?.[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
};

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ text: "Water boils at one hundred degrees Celsius at sea level under standard atmospheric pressure, as every textbook says." });
  const configFile = writeCoreConfig({
    experts: [
      // $1 per output token, 10 tokens at most: the consult costs $10, 83 % of the $12 budget (and its worst case fits).
      { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), maxTokens: 10, price: { inputPerMTok: 0, outputPerMTok: 1_000_000 } },
      // A key the stub refuses: every call fails (401), counted in core_expert_errors_total.
      { id: "refused", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic"), apiKeyEnv: "METRICS_TEST_WRONG_KEY", price: { inputPerMTok: 0, outputPerMTok: 0 } },
    ],
    budgets: [{ principal: "system", period: "day", limitUsd: 12 }],
    rateLimits: { routes: { "POST /api/v1/auth/login": { capacity: 1, refillPerSecond: 0.001 } } },
  });
  const apiPort = await freePort();
  const metricsPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  node = await startClusterNode("metrics-node", DEFAULT_SERVICES.join(","), {
    namespace,
    pg,
    env: {
      CORE_CONFIG: configFile,
      CORE_API_PORT: String(apiPort),
      CORE_METRICS: "true",
      CORE_METRICS_PORT: String(metricsPort),
      CORE_SUBJECT_PREFIX: subjectPrefix,
      CORE_JWT_SECRET: "metrics-test-secret-0123456789abcdef0123456789",
      REDIS_URL: redis.url,
      CORE_REDIS_PREFIX: redis.prefix,
      OPENAI_API_KEY: "k",
      METRICS_TEST_WRONG_KEY: "not-the-key",
      CORE_COST_CHECK_MS: "300",
      CORE_MEMORY_SAMPLE_MS: "500",
    },
  });

  // The work that makes lazily created series appear.
  probe = await startTestBroker({ namespace, nodeId: "metrics-probe" });
  await waitFor(() => probe.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "circle"), 30_000, "circle visible");
  const consultation = (await probe.call("circle.consult", { question: "At what temperature does water boil?", minResponses: 1 }, { timeout: 60_000 })) as { outcomes: Array<{ expertId: string; status: string }> };
  expect(consultation.outcomes.map((o) => [o.expertId, o.status])).toEqual([
    ["gpt", "answered"],
    ["refused", "failed"],
  ]);
  const login = () => fetch(`${api}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: "nobody@example.com", password: "wrong-password" }) });
  expect((await login()).status).toBe(401);
  expect((await login()).status).toBe(429);
  nc = await connect({ servers: NATS_URL });
  await nc.request(subjects.expertsList, new TextEncoder().encode("{}"), { timeout: 10_000 });
}, 150_000);

afterAll(async () => {
  await nc?.close();
  await probe?.stop();
  await node?.stop().catch(() => undefined);
  await CoreProcess.killAll();
  await stub?.close();
  await deleteStreams([`KV_${namespace}_leases`, subjects.jobsStream]);
  await pg.drop();
  await redis.clean();
});

describe("metrics a running node exports", () => {
  it("every metric the alert rules and the dashboards select", async () => {
    const references = [...alertRuleReferences(join(root, "deploy/prometheus/alerts.yml"), "alerts.yml"), ...dashboardReferences(join(root, "deploy/grafana/dashboards"), "dashboards")];
    expect(references.length).toBeGreaterThan(20);
    // Gauges of periodic samplers (budgets, memory) appear within a few of their intervals.
    const { exposition } = await waitFor(
      async () => {
        const s = await scrape();
        return s.exposition.samples.has("core_budget_usage_ratio") && s.exposition.samples.has("core_alerts_active") ? s : undefined;
      },
      20_000,
      "the budget and alert gauges",
    ).catch(scrape);
    // One line per missing name, with every place that selects it.
    const missing = new Map<string, { why: string; where: Set<string> }>();
    for (const ref of references) {
      const why = whyMissing(ref.name, exposition);
      if (why === undefined) continue;
      const entry = missing.get(ref.name) ?? { why, where: new Set<string>() };
      entry.where.add(ref.where);
      missing.set(ref.name, entry);
    }
    const report = [...missing].map(([name, m]) => `${name}: ${m.why} (${[...m.where].join("; ")})`);
    expect(report).toEqual([]);
  });

  it("counts rate-limit refusals by route, from 0 for every limited route", async () => {
    const { text } = await scrape();
    expect(sample(text, "core_ratelimit_rejections_total", { route: "/api/v1/auth/login", method: "POST" })).toBe(1);
  });

  it("shows each budget's limit, spending and share used", async () => {
    const text = await waitFor(async () => {
      const { text: t } = await scrape();
      return sample(t, "core_budget_spent_usd", { budget: "system", period: "day", principal: "system" }) === 10 ? t : undefined;
    }, 20_000, "the consult's $10 in core_budget_spent_usd");
    expect(sample(text, "core_budget_limit_usd", { budget: "system", period: "day" })).toBe(12);
    expect(sample(text, "core_budget_usage_ratio", { budget: "system", period: "day", principal: "system" })).toBeCloseTo(10 / 12, 6);
  });

  it("counts the failing expert's errors and starts the circle's counters and the actors' restart counters at 0", async () => {
    const { text } = await scrape();
    expect(sample(text, "core_expert_errors_total", { expert: "refused" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "core_budget_refusals_total", { period: "month" })).toBe(0);
    expect(sample(text, "core_consult_cache_total", { result: "miss" })).toBe(1);
    expect(sample(text, "core_actor_restarts_total", { actor: "circle" })).toBe(0);
  });
});
