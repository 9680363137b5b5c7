import type { ExpertConfig } from "../../../../config/file-schema";
import type { ExpertCallerOptions } from "../../../../lib/experts/expert-caller";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { testExpertCaller } from "../../../helpers/test-expert-caller";

/** One expert's calls through its real provider client, against a stub that speaks the provider's protocol. */

let stub: ProviderStub;
beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
});
afterAll(() => stub.close());
beforeEach(() => stub.reset());

function caller(overrides: Partial<ExpertCallerOptions> = {}) {
  const expert: ExpertConfig = { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), weight: 1, fallback: [], price: { inputPerMTok: 2.5, outputPerMTok: 10 } };
  return testExpertCaller(expert, { OPENAI_API_KEY: "k" }, overrides);
}

const ask = { messages: [{ role: "user" as const, content: "What is two plus two?" }] };

describe("ExpertCaller", () => {
  it("answers with the provider's usage and its cost at the expert's price", async () => {
    stub.always({ text: "Two plus two is four. Final answer: 4" });
    const a = await caller().ask(ask, Date.now() + 5_000);
    expect(a).toMatchObject({ expertId: "gpt", answeredBy: "gpt", provider: "openai", text: "Two plus two is four. Final answer: 4", attempts: 1, priced: true, finishReason: "stop" });
    expect(a.usage.inputTokens).toBeGreaterThan(0);
    expect(a.costUsd).toBeCloseTo((a.usage.inputTokens * 2.5 + a.usage.outputTokens * 10) / 1e6, 15);
  });

  it("retries a 429 with Retry-After: 1 after about one second, and no sooner", async () => {
    stub.inject({ status: 429, retryAfter: 1 });
    const a = await caller().ask(ask, Date.now() + 10_000);
    const [first, second] = stub.requests;
    expect(a.attempts).toBe(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
    expect(second!.at - first!.at).toBeLessThan(1_500);
  });

  it("opens its breaker after repeated failures, answers CIRCUIT_OPEN without calling the provider, half-opens and closes again", async () => {
    const states: string[] = [];
    const c = caller({ breaker: { failures: 3, halfOpenAfterMs: 300 }, retry: { maxAttempts: 1 }, onBreakerChange: (s) => states.push(s) });
    stub.always({ status: 500 });
    for (let i = 0; i < 3; i++) await expect(c.ask(ask, Date.now() + 5_000)).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    expect(stub.requests).toHaveLength(3);
    await expect(c.ask(ask, Date.now() + 5_000)).rejects.toMatchObject({ code: "CIRCUIT_OPEN", status: 503 });
    expect(stub.requests).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 350));
    stub.reset();
    stub.always({ text: "Final answer: 4" });
    await expect(c.ask(ask, Date.now() + 5_000)).resolves.toMatchObject({ text: "Final answer: 4" });
    expect(stub.requests).toHaveLength(1);
    expect(states).toEqual(["open", "half-open", "closed"]);
  });
});
