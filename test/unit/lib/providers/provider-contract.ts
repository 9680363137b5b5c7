import { CoreError } from "../../../../lib/errors";
import { collectStream, completeWithRetry, streamWithRetry, type CompletionChunk, type CompletionRequest, type ProviderClient, type ProviderRetryOptions } from "../../../../lib/providers";
import { countTokens, startProviderStub, type ProviderStub, type StubProtocol } from "../../../helpers/provider-stubs";

/**
 * What every protocol's client must do against its stub: the same answers,
 * usage, faults, retries and deadlines, whatever the wire looks like. Each
 * protocol's test file runs this and adds its own wire checks.
 */
export interface ContractCase {
  protocol: StubProtocol;
  /** The status this provider uses for "overloaded" (Anthropic 529, the others 503). */
  overloadedStatus: number;
  /** Whether the protocol has API keys (Ollama has none). */
  keyed: boolean;
  client(stub: ProviderStub, apiKey: string): ProviderClient;
}

export const KEY = "sk-test-secret-key-0123456789";
export const QUESTION = "What is the capital of Australia?";
export const SYSTEM = "Answer in one short sentence.";
export const REQUEST: CompletionRequest = {
  model: "stub-model",
  messages: [
    { role: "system", content: SYSTEM },
    { role: "user", content: QUESTION },
  ],
};
export const ANSWER = `This is stub-model answering: ${QUESTION}`;
export const INPUT_TOKENS = countTokens(`${SYSTEM} ${QUESTION}`);
export const OUTPUT_TOKENS = countTokens(ANSWER);

/** Tiny backoff: only Retry-After and deadlines make these tests wait. */
export const FAST_RETRY: ProviderRetryOptions = { backoff: { initialMs: 10, maxMs: 40, factor: 2 }, maxAttempts: 3 };

export async function caught(work: Promise<unknown> | (() => Promise<unknown>)): Promise<CoreError> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (err) {
    if (err instanceof CoreError) return err;
    throw err;
  }
  throw new Error("expected a CoreError, got a result");
}

export async function drain(stream: AsyncIterable<CompletionChunk>): Promise<CompletionChunk[]> {
  const chunks: CompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

export function describeProviderContract(c: ContractCase): void {
  describe(`${c.protocol} client against its stub`, () => {
    let stub: ProviderStub;
    let client: ProviderClient;

    beforeAll(async () => {
      stub = await startProviderStub(c.keyed ? { apiKey: KEY } : {});
      client = c.client(stub, KEY);
    });
    afterEach(() => stub.reset());
    afterAll(() => stub.close());

    it("completes, with the text and the usage the provider reported", async () => {
      const completion = await client.complete(REQUEST);
      expect(completion).toMatchObject({
        text: ANSWER,
        model: "stub-model",
        usage: { inputTokens: INPUT_TOKENS, outputTokens: OUTPUT_TOKENS },
        finishReason: "stop",
      });
      expect(completion.usageMissing).toBeUndefined();
      expect(stub.requestsFor({ protocol: c.protocol, stream: false })).toHaveLength(1);
    });

    it("reports a cut at max tokens as finishReason length", async () => {
      const completion = await client.complete({ ...REQUEST, maxTokens: 3 });
      expect(completion).toMatchObject({ text: "This is stub-model", usage: { inputTokens: INPUT_TOKENS, outputTokens: 3 }, finishReason: "length" });
    });

    it("streams text deltas, then one final chunk with the usage", async () => {
      const chunks = await drain(client.stream(REQUEST));
      const last = chunks.at(-1)!;
      expect(last).toMatchObject({ type: "done", model: "stub-model", usage: { inputTokens: INPUT_TOKENS, outputTokens: OUTPUT_TOKENS }, finishReason: "stop" });
      const deltas = chunks.slice(0, -1);
      expect(deltas.length).toBeGreaterThan(3);
      expect(deltas.every((d) => d.type === "delta")).toBe(true);
      expect(deltas.map((d) => (d.type === "delta" ? d.text : "")).join("")).toBe(ANSWER);
      expect(stub.requestsFor({ protocol: c.protocol, stream: true })).toHaveLength(1);
    });

    it("adds a stream up to the same completion", async () => {
      const streamed = await collectStream(client.stream({ ...REQUEST, maxTokens: 4 }));
      expect(streamed).toMatchObject({ text: "This is stub-model answering:", usage: { inputTokens: INPUT_TOKENS, outputTokens: 4 }, finishReason: "length" });
    });

    const faults: [string, Parameters<ProviderStub["inject"]>[0], string, boolean][] = [
      ["400", { status: 400 }, "PROVIDER_BAD_REQUEST", false],
      ["401", { status: 401 }, "PROVIDER_AUTH_FAILED", false],
      ["404", { status: 404 }, "PROVIDER_BAD_REQUEST", false],
      ["429", { status: 429, retryAfter: 2 }, "PROVIDER_RATE_LIMITED", true],
      ["500", { status: 500 }, "PROVIDER_UNAVAILABLE", true],
      ["overloaded", { status: c.overloadedStatus }, "PROVIDER_OVERLOADED", true],
      ["malformed JSON", { malformed: true }, "PROVIDER_BAD_RESPONSE", true],
      ["a connection reset", { reset: true }, "PROVIDER_UNAVAILABLE", true],
    ];

    it.each(faults)("maps %s to its CORE error, complete and stream alike", async (_name, behaviour, code, retryable) => {
      stub.inject(behaviour, {}, 2);
      const fromComplete = await caught(client.complete(REQUEST));
      const fromStream = await caught(drain(client.stream(REQUEST)));
      for (const err of [fromComplete, fromStream]) {
        expect(err).toMatchObject({ code, retryable });
        expect(err.data.provider).toBe(c.protocol);
        if (behaviour.status) expect(err.data.status).toBe(behaviour.status);
      }
      if (behaviour.status === 429) expect(fromComplete.data.retryAfterSec).toBe(2);
    });

    it("retries a 500, then answers", async () => {
      stub.inject({ status: 500 });
      const completion = await completeWithRetry(client, REQUEST, {}, FAST_RETRY);
      expect(completion.text).toBe(ANSWER);
      expect(stub.requests).toHaveLength(2);
    });

    it("does not retry what cannot succeed (400)", async () => {
      stub.inject({ status: 400 }, {}, 5);
      expect((await caught(completeWithRetry(client, REQUEST, {}, FAST_RETRY))).code).toBe("PROVIDER_BAD_REQUEST");
      expect(stub.requests).toHaveLength(1);
    });

    it("waits the Retry-After of a 429 (1 s), and not less", async () => {
      stub.inject({ status: 429, retryAfter: 1 });
      const completion = await completeWithRetry(client, REQUEST, { deadline: Date.now() + 5_000 }, FAST_RETRY);
      expect(completion.text).toBe(ANSWER);
      expect(stub.requests).toHaveLength(2);
      const gap = stub.requests[1]!.at - stub.requests[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(1_000);
      expect(gap).toBeLessThan(1_500);
    });

    it("fails at once with the rate-limit error when the Retry-After would cross the deadline", async () => {
      stub.inject({ status: 429, retryAfter: 5 });
      const started = Date.now();
      const err = await caught(completeWithRetry(client, REQUEST, { deadline: started + 1_000 }, FAST_RETRY));
      expect(err.code).toBe("PROVIDER_RATE_LIMITED");
      expect(Date.now() - started).toBeLessThan(500);
      expect(stub.requests).toHaveLength(1);
    });

    it("gives up on a hanging provider at the deadline, not later", async () => {
      stub.inject({ hang: true }, {}, 3);
      const started = Date.now();
      const err = await caught(completeWithRetry(client, REQUEST, { deadline: started + 300 }, FAST_RETRY));
      const elapsed = Date.now() - started;
      expect(err.code).toBe("DEADLINE_EXCEEDED");
      expect(err.data.provider).toBe(c.protocol);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      // The abort fires at 300 ms; the margin is for a busy machine, not for the client.
      expect(elapsed).toBeLessThan(700);
      expect(stub.requests).toHaveLength(1);
    });

    it("holds a stream to the deadline too, after its first chunks", async () => {
      stub.inject({ hangAfterChunks: 2 });
      const started = Date.now();
      const seen: CompletionChunk[] = [];
      const err = await caught(async () => {
        for await (const chunk of client.stream(REQUEST, { deadline: started + 300 })) seen.push(chunk);
      });
      expect(err.code).toBe("DEADLINE_EXCEEDED");
      expect(seen).toHaveLength(2);
      expect(Date.now() - started).toBeLessThan(700);
    });

    it("retries an attempt that timed out while the deadline leaves time", async () => {
      stub.inject({ latencyMs: 1_000 });
      const events: string[] = [];
      const completion = await completeWithRetry(client, REQUEST, { deadline: Date.now() + 2_000 }, {
        ...FAST_RETRY,
        attemptTimeoutMs: 150,
        onRetry: (e) => events.push((e.error as CoreError).code),
      });
      expect(completion.text).toBe(ANSWER);
      expect(events).toEqual(["PROVIDER_TIMEOUT"]);
    });

    it("retries a stream that failed before its first chunk", async () => {
      stub.inject({ status: 500 });
      const chunks = await drain(streamWithRetry(client, REQUEST, {}, FAST_RETRY));
      expect(chunks.at(-1)).toMatchObject({ type: "done", usage: { outputTokens: OUTPUT_TOKENS } });
      expect(stub.requests).toHaveLength(2);
    });

    it("does not retry a stream cut after its first chunk", async () => {
      stub.inject({ resetAfterChunks: 2 });
      const seen: CompletionChunk[] = [];
      const err = await caught(async () => {
        for await (const chunk of streamWithRetry(client, REQUEST, {}, FAST_RETRY)) seen.push(chunk);
      });
      expect(err.code).toBe("PROVIDER_UNAVAILABLE");
      expect(seen).toHaveLength(2);
      expect(stub.requests).toHaveLength(1);
    });

    it("maps an error event inside a stream", async () => {
      stub.inject({ streamError: { afterChunks: 1, status: c.overloadedStatus } });
      const err = await caught(drain(client.stream(REQUEST)));
      expect(err.retryable).toBe(true);
      expect(err.data).toMatchObject({ provider: c.protocol, inStream: true });
    });

    it("stops when the caller aborts", async () => {
      stub.inject({ hang: true });
      const controller = new AbortController();
      const reason = new Error("caller left");
      setTimeout(() => controller.abort(reason), 50);
      await expect(client.complete(REQUEST, { signal: controller.signal })).rejects.toBe(reason);
    });

    it("never puts the API key in an error", async () => {
      stub.inject({ status: 401, errorMessage: `The key ${KEY} was refused` });
      stub.inject({ status: 400, errorMessage: `bad request from ${KEY.slice(0, 6)}****${KEY.slice(-4)}` });
      const errors = [await caught(client.complete(REQUEST)), await caught(drain(client.stream(REQUEST)))];
      if (c.keyed) errors.push(await caught(c.client(stub, "sk-wrong-key-987654321").complete(REQUEST)));
      for (const err of errors) {
        const visible = `${err.message} ${JSON.stringify(err.toJSON())}`;
        expect(visible).not.toContain(KEY);
        expect(visible).not.toContain(KEY.slice(-10));
        expect(visible).not.toContain("987654321");
        expect(err.data.provider).toBe(c.protocol);
      }
    });
  });
}
