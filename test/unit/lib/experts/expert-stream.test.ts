import { Readable } from "node:stream";
import type { ExpertConfig } from "../../../../config/file-schema";
import { ProviderUnavailableError } from "../../../../lib/errors";
import type { ExpertCallerOptions } from "../../../../lib/experts/expert-caller";
import { errorChunk, readExpertStream, type ExpertStreamEvent } from "../../../../lib/experts/expert-stream";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { testExpertCaller } from "../../../helpers/test-expert-caller";

/** ExpertCaller.stream through its real provider client against the stub, and the reader of what `expert.<id>.stream` sends. */

let stub: ProviderStub;
beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
});
afterAll(() => stub.close());
beforeEach(() => stub.reset());

function caller(overrides: Partial<ExpertCallerOptions> = {}) {
  const expert: ExpertConfig = { id: "claude", provider: "anthropic", model: "claude-x", baseUrl: stub.baseUrl("anthropic"), weight: 1, fallback: [], price: { inputPerMTok: 3, outputPerMTok: 15 } };
  return testExpertCaller(expert, { ANTHROPIC_API_KEY: "k" }, overrides);
}

const ask = { messages: [{ role: "user" as const, content: "What is two plus two?" }] };
const TEXT = "Two plus two is four, as anyone who counts on their fingers will find. Final answer: 4";

async function drain(gen: AsyncIterable<ExpertStreamEvent>): Promise<ExpertStreamEvent[]> {
  const out: ExpertStreamEvent[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

describe("ExpertCaller.stream", () => {
  it("yields the text in deltas, then `done` with the usage priced at the expert's price", async () => {
    stub.always({ text: TEXT });
    const chunks = await drain(caller().stream(ask, Date.now() + 5_000));
    const deltas = chunks.filter((c) => c.type === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((c) => c.text).join("")).toBe(TEXT);
    const done = chunks.at(-1)!;
    if (done.type !== "done") throw new Error("no done");
    expect(done.answer).toMatchObject({ expertId: "claude", answeredBy: "claude", provider: "anthropic", attempts: 1, priced: true, finishReason: "stop" });
    const { inputTokens, outputTokens } = done.answer.usage;
    expect(outputTokens).toBeGreaterThan(0);
    expect(done.answer.costUsd).toBeCloseTo((inputTokens * 3 + outputTokens * 15) / 1e6, 15);
    expect(stub.requests[0]!.stream).toBe(true);
  });

  it("retries a failure before the first chunk, counting the attempts", async () => {
    stub.inject({ status: 529 });
    stub.always({ text: TEXT });
    const chunks = await drain(caller().stream(ask, Date.now() + 5_000));
    expect(chunks.at(-1)).toMatchObject({ type: "done", answer: { attempts: 2 } });
  });

  it("throws a failure after text has come, without retrying", async () => {
    stub.always({ text: TEXT, streamError: { afterChunks: 2, status: 529 } });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of caller().stream(ask, Date.now() + 5_000)) if (c.type === "delta") seen.push(c.text);
    })().catch((e: unknown) => e);
    expect(seen.length).toBe(2);
    expect(err).toMatchObject({ code: "PROVIDER_OVERLOADED" });
    expect(stub.requests).toHaveLength(1);
  });

  it("its opening goes through the breaker: repeated failures open it, then CIRCUIT_OPEN without a request", async () => {
    const c = caller({ breaker: { failures: 2, halfOpenAfterMs: 10_000 }, retry: { maxAttempts: 1 } });
    stub.always({ status: 500 });
    for (let i = 0; i < 2; i++) await expect(drain(c.stream(ask, Date.now() + 5_000))).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    await expect(drain(c.stream(ask, Date.now() + 5_000))).rejects.toMatchObject({ code: "CIRCUIT_OPEN" });
    expect(stub.requests).toHaveLength(2);
    expect(c.breaker.state).toBe("open");
  });
});

describe("readExpertStream", () => {
  const done = { type: "done" as const, answer: { expertId: "e", answeredBy: "e", provider: "p", model: "m", usage: { inputTokens: 1, outputTokens: 1 }, costUsd: 0, priced: false, attempts: 1, latencyMs: 1, finishReason: "stop" } };

  it("passes deltas and `done` through, reading to the stream's end", async () => {
    const stream = Readable.from([{ type: "delta", text: "a" }, done]);
    expect(await drain(readExpertStream(stream, "e"))).toEqual([{ type: "delta", text: "a" }, done]);
  });

  it("throws the CORE error of an error chunk, by its code", async () => {
    const stream = Readable.from([{ type: "delta", text: "a" }, errorChunk(new ProviderUnavailableError("cut", { data: { status: 500 } }))]);
    await expect(drain(readExpertStream(stream, "e"))).rejects.toEqual(expect.objectContaining({ code: "PROVIDER_UNAVAILABLE", message: "cut", data: { status: 500 } }));
  });

  it("a stream that ends early, breaks off or carries garbage is UNAVAILABLE", async () => {
    await expect(drain(readExpertStream(Readable.from([{ type: "delta", text: "a" }]), "e"))).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("before its last chunk") });
    const broken = new Readable({ objectMode: true, read() {} });
    broken.push({ type: "delta", text: "a" });
    setImmediate(() => broken.destroy(new Error("Stream closed by node-b")));
    await expect(drain(readExpertStream(broken, "e"))).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("Stream closed by node-b") });
    await expect(drain(readExpertStream(Readable.from([{ what: 1 }]), "e"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
