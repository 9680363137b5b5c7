import type { Readable } from "node:stream";
import type { ServiceBroker } from "moleculer";
import type { ExpertStreamEvent } from "../../../lib/experts/expert-stream";
import { readExpertStream } from "../../../lib/experts/expert-stream";
import { startNode, type CoreNode } from "../../../node";
import { startTestBroker } from "../../helpers/broker";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { uniqueName } from "../../helpers/unique";

/**
 * `expert.<id>.stream` across two brokers over the real NATS: the experts run
 * on one node, the caller is another; the answer crosses as a Moleculer
 * response stream of chunks.
 */

const namespace = uniqueName("expert_stream");
const pg = testSchema("expert_stream");
let stub: ProviderStub;
let experts: CoreNode;
let caller: ServiceBroker;

const TEXT = "Two plus two is four, which anyone can check by counting on their fingers. Final answer: 4";

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), price: { inputPerMTok: 2.5, outputPerMTok: 10 } },
      { id: "primary", provider: "anthropic", model: "claude-primary", baseUrl: stub.baseUrl("anthropic"), fallback: ["local"] },
      { id: "local", provider: "ollama", model: "llama3.2", baseUrl: stub.baseUrl("ollama") },
    ],
  });
  experts = await startNode({ env: circleNodeEnv({ namespace, pg, nodeId: "experts-node", configFile, apiKey: "k" }), services: ["supervisor", "experts"] });
  caller = await startTestBroker({ namespace, nodeId: "caller-node" });
  await caller.waitForServices(["expert.gpt", "expert.primary", "expert.local"], 10_000);
});

afterAll(async () => {
  await caller?.stop();
  await experts?.stop();
  await stub?.close();
  await pg.drop();
});

beforeEach(() => stub.reset());

const ask = { messages: [{ role: "user", content: "What is two plus two?" }] };

async function drain(stream: AsyncIterable<ExpertStreamEvent>): Promise<ExpertStreamEvent[]> {
  const out: ExpertStreamEvent[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const open = (id: string, timeout = 10_000) => caller.call<Readable, typeof ask>(`expert.${id}.stream`, ask, { timeout });

describe("expert.<id>.stream over NATS", () => {
  it("streams the provider's text in chunks from the expert's node, then its usage and cost", async () => {
    stub.always({ text: TEXT, chunkDelayMs: 20 });
    const stream = await open("gpt");
    const chunks = await drain(readExpertStream(stream, "gpt"));
    const deltas = chunks.filter((c): c is Extract<ExpertStreamEvent, { type: "delta" }> => c.type === "delta");
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((d) => d.text).join("")).toBe(TEXT);
    const done = chunks.at(-1)!;
    if (done.type !== "done") throw new Error("the stream did not end with done");
    expect(done.answer).toMatchObject({ expertId: "gpt", answeredBy: "gpt", provider: "openai", finishReason: "stop", priced: true });
    expect(done.answer.usage.outputTokens).toBeGreaterThan(0);
    expect(done.answer.costUsd).toBeCloseTo((done.answer.usage.inputTokens * 2.5 + done.answer.usage.outputTokens * 10) / 1e6, 12);
    // The call did cross NATS: the expert runs only on the other node.
    expect(caller.registry.getServiceList({ onlyLocal: true }).map((s) => s.name)).not.toContain("expert.gpt");
  });

  it("the first chunk arrives before the answer is finished", async () => {
    stub.always({ text: TEXT, chunkDelayMs: 100 });
    const started = Date.now();
    const stream = await open("gpt");
    const iterator = readExpertStream(stream, "gpt")[Symbol.asyncIterator]();
    await iterator.next();
    const firstAt = Date.now() - started;
    const rest = [];
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) rest.push(n.value);
    const endAt = Date.now() - started;
    expect(endAt - firstAt).toBeGreaterThan(500);
  });

  it("a failure before the first chunk is the call's own error, with its code", async () => {
    stub.always({ status: 401 }, { protocol: "openai" });
    await expect(open("gpt")).rejects.toMatchObject({ code: "PROVIDER_AUTH_FAILED", retryable: false, data: { expert: "gpt" } });
    expect(stub.requests).toHaveLength(1);
  });

  it("a failure mid-stream ends the stream with an error chunk, read as the error", async () => {
    stub.always({ text: TEXT, streamError: { afterChunks: 2, status: 500 } }, { protocol: "openai" });
    const stream = await open("gpt");
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of readExpertStream(stream, "gpt")) if (c.type === "delta") seen.push(c.text);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(2);
    expect(err).toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
  });

  it("falls back before the first chunk, told as the expert asked", async () => {
    stub.always({ status: 500 }, { protocol: "anthropic" });
    stub.always({ text: "Four. Final answer: 4" }, { protocol: "ollama" });
    const chunks = await drain(readExpertStream(await open("primary", 20_000), "primary"));
    expect(chunks.filter((c) => c.type === "delta").map((c) => (c as { text: string }).text).join("")).toBe("Four. Final answer: 4");
    expect(chunks.at(-1)).toMatchObject({ type: "done", answer: { expertId: "primary", answeredBy: "local", provider: "ollama" } });
  });
});
