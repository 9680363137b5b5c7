import type { ExpertConfig } from "../../../../config/file-schema";
import type { SpanTags, TraceStep } from "../../../../lib/tracing/trace-step";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { testExpertCaller } from "../../../helpers/test-expert-caller";

/** ExpertCaller.ask with a TraceStep: each request to the provider is a step (a span), retries included. */

let stub: ProviderStub;
beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
});
afterAll(() => stub.close());
beforeEach(() => stub.reset());

const expert: () => ExpertConfig = () => ({ id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), weight: 1, fallback: [] });
const ask = { messages: [{ role: "user" as const, content: "What is two plus two?" }] };

/** A TraceStep that records each step and how it ended. */
function recorder() {
  const steps: Array<{ name: string; tags: SpanTags | undefined; outcome: string }> = [];
  const trace: TraceStep = async (name, work, tags) => {
    const step = { name, tags, outcome: "running" };
    steps.push(step);
    try {
      const result = await work();
      step.outcome = "ok";
      return result;
    } catch (err) {
      step.outcome = (err as { code?: string }).code ?? "error";
      throw err;
    }
  };
  return { steps, trace };
}

describe("ExpertCaller.ask traced", () => {
  it("one step per provider request, named for the provider, with model and endpoint; a retried 429 shows as a failed step", async () => {
    stub.inject({ status: 429, retryAfter: 0 });
    stub.always({ text: "Final answer: 4" });
    const { steps, trace } = recorder();
    const answer = await testExpertCaller(expert(), { OPENAI_API_KEY: "k" }).ask(ask, Date.now() + 10_000, undefined, trace);
    expect(answer).toMatchObject({ text: "Final answer: 4", attempts: 2 });
    const tags = { provider: "openai", model: "gpt-4o", endpoint: stub.baseUrl("openai") };
    expect(steps).toEqual([
      { name: "openai completion", tags, outcome: "PROVIDER_RATE_LIMITED" },
      { name: "openai completion", tags, outcome: "ok" },
    ]);
  });

  it("without a TraceStep it asks as before", async () => {
    stub.always({ text: "Final answer: 4" });
    await expect(testExpertCaller(expert(), { OPENAI_API_KEY: "k" }).ask(ask, Date.now() + 5_000)).resolves.toMatchObject({ text: "Final answer: 4", attempts: 1 });
  });
});
