import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../../config";
import { PayloadTooLargeError, ValidationError } from "../../../lib/errors";
import type { NodeRuntime } from "../../../mixins/node-runtime";
import { createBrokerOptions } from "../../../moleculer.config";
import createAggregatorActor, { AGGREGATOR_METRICS, type AggregateResult } from "../../../services/aggregator.service";
import createSupervisorService from "../../../services/supervisor.service";
import { startTestBroker } from "../../helpers/broker";
import { NATS_URL } from "../../helpers/services";
import { uniqueName } from "../../helpers/unique";

/** aggregator.aggregate called by name from another node over real NATS. */

const namespace = uniqueName("aggregator");
let node: ServiceBroker;
let caller: ServiceBroker;

beforeAll(async () => {
  const config = loadConfig({ NATS_URL, CORE_NAMESPACE: namespace, CORE_NODE_ID: "aggregator-node", CORE_METRICS: "true", CORE_METRICS_PORT: "0", CORE_LOG_LEVEL: "fatal" });
  const options = createBrokerOptions(config);
  options.metrics = { enabled: true };
  node = new ServiceBroker(options);
  const runtime: NodeRuntime = { config, store: undefined, shared: undefined, actors: [createAggregatorActor()], fatal: () => undefined };
  node.createService(createSupervisorService(runtime));
  await node.start();
  caller = await startTestBroker({ namespace, nodeId: "caller" });
  await caller.waitForServices("aggregator", 10_000);
});

afterAll(async () => {
  await caller?.stop();
  await node?.stop();
});

const responses = [
  { expertId: "claude", text: "The capital of Australia is Canberra, chosen as a compromise between Sydney and Melbourne. Final answer: Canberra" },
  { expertId: "gpt", text: "Canberra is Australia's capital city; it was purpose-built as a compromise. Answer: Canberra." },
  { expertId: "gemini", text: "Sydney is the capital of Australia. Final answer: Sydney", weight: 0.5 },
];

describe("aggregator.aggregate", () => {
  it("answers the consensus computed by the native engine, with its timing", async () => {
    const result = await caller.call<AggregateResult, unknown>("aggregator.aggregate", { responses });
    expect(result.engine).toBe("native");
    expect(result.consensus.expertId).toMatch(/^(claude|gpt)$/);
    expect(result.clusters[0]!.members).toEqual(["claude", "gpt"]);
    expect(result.agreement).toBeCloseTo(2 / 2.5, 12);
    expect(result.dissent).toEqual([expect.objectContaining({ expertId: "gemini", share: 0.2 })]);
    expect(result.vote).toMatchObject({ answer: "canberra", kind: "text", share: 0.8, turnout: 1 });
    expect(result.durationMs).toBeGreaterThan(0);
    const histogram = node.metrics.getMetric(AGGREGATOR_METRICS.duration) as unknown as { get(labels: object): { count: number } | null };
    expect(histogram.get({ engine: "native" })?.count).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ["no responses", { responses: [] }, ValidationError, /at least one response/],
    ["not an array", { responses: "claude says yes" }, ValidationError, /responses must be an array/],
    ["a bad weight and a missing text", { responses: [{ expertId: "a", text: "x", weight: -1 }, { expertId: "b" }] }, ValidationError, /responses\[0\]\.weight.*responses\[1\]\.text/],
    ["an unknown option", { responses, options: { treshold: 0.5 } }, ValidationError, /options\.treshold: unknown option/],
    ["257 responses", { responses: Array.from({ length: 257 }, (_, i) => ({ expertId: `e${i}`, text: "yes" })) }, PayloadTooLargeError, /at most 256/],
    ["a response over 64 KiB", { responses: [{ expertId: "a", text: "x".repeat(70_000) }] }, PayloadTooLargeError, /responses\[0\]\.text is 70000 bytes; at most 65536/],
  ])("refuses %s with a typed error that says what to fix", async (_what, params, type, message) => {
    const err = (await caller.call("aggregator.aggregate", params).catch((e: unknown) => e)) as Error & { code: string; status: number; retryable: boolean };
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
    expect(err.status).toBe(type === ValidationError ? 422 : 413);
    expect(err.retryable).toBe(false);
  });

  it("keeps serving after bad input: the actor did not crash", async () => {
    await caller.call("aggregator.aggregate", { responses: [] }).catch(() => undefined);
    const result = await caller.call<AggregateResult, unknown>("aggregator.aggregate", { responses: responses.slice(0, 1) });
    expect(result.consensus.expertId).toBe("claude");
    expect(result.agreement).toBe(1);
  });
});
