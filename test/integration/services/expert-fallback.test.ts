import type { ExpertAnswer } from "../../../lib/circle/expert-answer";
import { startNode, type CoreNode } from "../../../node";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { uniqueName } from "../../helpers/unique";

/** expert.<id>.ask falling back to the experts in its `fallback` list, over real NATS. */

const namespace = uniqueName("fallback");
const pg = testSchema("fallback");
let stub: ProviderStub;
let node: CoreNode;

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "primary", provider: "anthropic", model: "claude-primary", baseUrl: stub.baseUrl("anthropic"), fallback: ["local"] },
      { id: "local", provider: "ollama", model: "llama3.2", baseUrl: stub.baseUrl("ollama") },
      { id: "loop-a", provider: "openai", model: "gpt-loop", baseUrl: stub.baseUrl("openai"), fallback: ["loop-b"] },
      { id: "loop-b", provider: "gemini", model: "gemini-loop", baseUrl: stub.baseUrl("gemini"), fallback: ["loop-a"] },
    ],
  });
  node = await startNode({ env: circleNodeEnv({ namespace, pg, nodeId: "fallback-node", configFile, apiKey: "k" }), services: ["supervisor", "experts"] });
});

afterAll(async () => {
  await node?.stop();
  await stub?.close();
  await pg.drop();
});

const ask = { messages: [{ role: "user", content: "Two plus two?" }] };

describe("expert fallbacks", () => {
  it("an expert whose provider keeps failing answers through its fallback, and says which one answered", async () => {
    stub.always({ status: 500 }, { model: "claude-primary" });
    stub.always({ text: "Four. Final answer: 4" }, { protocol: "ollama" });
    const answer = await node.broker.call<ExpertAnswer, typeof ask>("expert.primary.ask", ask);
    expect(answer).toMatchObject({ expertId: "primary", answeredBy: "local", provider: "ollama", text: "Four. Final answer: 4" });
    // The primary was tried (with its retries) before the fallback.
    expect(stub.requestsFor({ model: "claude-primary" }).length).toBeGreaterThanOrEqual(1);
  });

  it("a loop of fallbacks is cut: each expert is tried once, and the error names what the fallbacks answered", async () => {
    stub.always({ status: 500 }, { model: "gpt-loop" });
    stub.always({ status: 401 }, { model: "gemini-loop" });
    const err = await node.broker.call("expert.loop-a.ask", ask, { timeout: 20_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "PROVIDER_UNAVAILABLE", retryable: false, data: { expert: "loop-a", fallbacks: [{ expertId: "loop-b", code: "PROVIDER_AUTH_FAILED" }] } });
    // loop-b did not fall back to loop-a again: one auth failure, never retried.
    expect(stub.requestsFor({ model: "gemini-loop" })).toHaveLength(1);
  });
});
