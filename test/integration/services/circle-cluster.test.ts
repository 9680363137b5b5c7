import type { Consultation } from "../../../lib/circle/consultation";
import { worstCaseUsd } from "../../../lib/circle/consult-runner";
import type { CostSummary } from "../../../lib/costs/cost-summary";
import { PriceTable } from "../../../lib/costs/price-table";
import type { ExpertConfig } from "../../../config/file-schema";
import { startNode, type CoreNode } from "../../../node";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { testRedisPrefix } from "../../helpers/redis-prefix";
import { uniqueName } from "../../helpers/unique";

/**
 * Two nodes of one cluster (real NATS, Redis, PostgreSQL) sharing budgets,
 * the consult cache and the cost records.
 */

const namespace = uniqueName("circle_cluster");
const pg = testSchema("circle_cluster");
const redis = testRedisPrefix("circle_cluster");
const experts: ExpertConfig[] = [
  { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", weight: 1, fallback: [], price: { inputPerMTok: 3, outputPerMTok: 15 } },
  { id: "gpt", provider: "openai", model: "gpt-4o", weight: 1, fallback: [], price: { inputPerMTok: 2.5, outputPerMTok: 10 } },
];
const BUDGET_QUESTION = "How many moons does Mars have? End with 'Final answer: <n>'.";
const MAX_TOKENS = 100;
/** What one budget-test consult reserves: its worst case. */
const WORST = worstCaseUsd(experts, { messages: [{ role: "user", content: BUDGET_QUESTION }], maxTokens: MAX_TOKENS }, new PriceTable({}));
const TENANT = { id: "tenant-1", roles: ["operator"] };

let stub: ProviderStub;
let nodes: CoreNode[] = [];

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  const configFile = writeCoreConfig({
    experts: experts.map(({ id, provider, model, price }) => ({ id, provider, model, price, baseUrl: stub.baseUrl(provider === "anthropic" ? "anthropic" : "openai") })),
    // Room for exactly 10 worst cases (and not an 11th).
    budgets: [{ principal: TENANT.id, period: "day", limitUsd: WORST * 10.5 }],
  });
  const env = (nodeId: string) => circleNodeEnv({ namespace, pg, nodeId, configFile, apiKey: "k", redis });
  const services = ["supervisor", "aggregator", "experts", "circle", "costs", "budgets"];
  nodes = [await startNode({ env: env("node-a"), services }), await startNode({ env: env("node-b"), services })];
  await Promise.all(nodes.map((n) => n.broker.waitForServices(["circle", "costs", "budgets"], 10_000)));
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await stub?.close();
  await redis.clean();
  await pg.drop();
});

beforeEach(() => stub.reset());

/** circle.consult on the node that runs it locally (the point is two nodes acting at once). */
const consultOn = (node: CoreNode, params: Record<string, unknown>, principal = TENANT) =>
  node.broker.call<Consultation, Record<string, unknown>>("circle.consult", params, { meta: { principal }, nodeID: node.config.nodeId });

describe("a cluster of two nodes", () => {
  it("budget for 10 consults, 100 concurrent consults from two nodes: 10 dispatched, the rest refused before any provider call", async () => {
    // Slow answers: every reservation is made before any consult settles.
    stub.always({ latencyMs: 1_500, text: "Mars has two moons, Phobos and Deimos. Final answer: 2" });
    const settled = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => consultOn(nodes[i % 2]!, { question: BUDGET_QUESTION, maxTokens: MAX_TOKENS, cache: false })),
    );
    const ok = settled.filter((s) => s.status === "fulfilled");
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(90);
    for (const r of refused) expect(r.reason).toMatchObject({ code: "BUDGET_EXCEEDED", status: 402 });
    // Only the 10 dispatched consults reached the providers: one request per expert each.
    expect(stub.requests).toHaveLength(20);
    const status = await nodes[1]!.broker.call<{ budgets: Array<{ usedUsd: number; limitUsd: number }> }, unknown>("budgets.get", { principal: TENANT.id });
    const spent = ok.reduce((s, r) => s + (r as PromiseFulfilledResult<Consultation>).value.costUsd, 0);
    // Settled to the actual cost (well under the worst case).
    expect(status.budgets[0]!.usedUsd).toBeCloseTo(spent, 9);
    expect(spent).toBeLessThan(WORST * 10);
  });

  it("20 identical concurrent consults across two nodes: each provider sees one request", async () => {
    stub.always({ latencyMs: 300, text: "Light from the Sun takes about 8 minutes 20 seconds to reach Earth. Final answer: 500" });
    const question = `How long does sunlight take to reach Earth, in seconds? (${Date.now()})`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => consultOn(nodes[i % 2]!, { question }, { id: `user-${i}`, roles: ["operator"] })));
    expect(stub.requestsFor({ protocol: "anthropic" })).toHaveLength(1);
    expect(stub.requestsFor({ protocol: "openai" })).toHaveLength(1);
    const asked = results.filter((r) => !r.cached);
    expect(asked).toHaveLength(1);
    // Everyone got the same answer; each caller has a consultation of its own, the cached ones at no cost.
    expect(new Set(results.map((r) => r.consensus!.consensus.text)).size).toBe(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(20);
    for (const r of results.filter((x) => x.cached)) expect(r).toMatchObject({ costUsd: 0, cachedFrom: asked[0]!.id });
    // An explicit bypass asks the experts again.
    await consultOn(nodes[0]!, { question, cache: false });
    expect(stub.requestsFor({ protocol: "openai" })).toHaveLength(2);
  });

  it("costs.summary equals the price table times the usage the providers reported, to a fraction of a cent", async () => {
    stub.always({ text: "The boiling point of water at sea level is 100 degrees Celsius. Final answer: 100" });
    const mine: Consultation[] = [];
    for (let i = 0; i < 3; i++) mine.push(await consultOn(nodes[i % 2]!, { question: `Boiling point of water, try ${i}?`, cache: false }, { id: "costs-user", roles: ["operator"] }));
    const expected: Record<string, number> = {};
    for (const c of mine) {
      for (const o of c.outcomes) {
        if (o.status !== "answered") throw new Error(`${o.expertId} did not answer`);
        const price = experts.find((e) => e.id === o.expertId)!.price!;
        const { inputTokens, outputTokens } = o.answer.usage;
        expect(inputTokens).toBeGreaterThan(0);
        expected[o.expertId] = (expected[o.expertId] ?? 0) + (inputTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1e6;
      }
    }
    const summary = await nodes[0]!.broker.call<CostSummary, unknown>("costs.summary", { groupBy: ["expert", "provider", "model"], principal: "costs-user" });
    expect(summary.rows.map((r) => r.expert).sort()).toEqual(["claude", "gpt"]);
    for (const row of summary.rows) {
      expect(row.calls).toBe(3);
      expect(Math.abs(row.costUsd - expected[row.expert!]!)).toBeLessThan(1e-9);
    }
    const byDay = await nodes[1]!.broker.call<CostSummary, unknown>("costs.summary", { groupBy: ["principal", "day"], principal: "costs-user" });
    expect(byDay.rows).toEqual([expect.objectContaining({ principal: "costs-user", day: new Date().toISOString().slice(0, 10), calls: 6 })]);
    expect(Math.abs(byDay.total.costUsd - (expected.claude! + expected.gpt!))).toBeLessThan(1e-9);
  });
});
