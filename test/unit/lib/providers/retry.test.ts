import { ProviderBadRequestError, ProviderOverloadedError, ProviderRateLimitedError, ProviderUnavailableError } from "../../../../lib/errors";
import {
  collectStream,
  completeWithRetry,
  streamWithRetry,
  withRetry,
  type CallOptions,
  type Completion,
  type CompletionChunk,
  type ProviderClient,
  type ProviderRetryOptions,
} from "../../../../lib/providers";
import { drain } from "./provider-contract";

const REQUEST = { model: "m", messages: [{ role: "user" as const, content: "q" }] };
const DONE: Completion = { text: "ok", model: "m", usage: { inputTokens: 1, outputTokens: 1 }, finishReason: "stop" };
const FAST: ProviderRetryOptions = { backoff: { initialMs: 5, maxMs: 20, factor: 2 } };

/** A client that plays a script: one entry per call, an error to throw or nothing for success. */
function scripted(script: (Error | undefined)[], chunksBeforeFailure = 0) {
  const calls: { at: number; options: CallOptions }[] = [];
  let closed = 0;
  const next = () => script.shift();
  const client: ProviderClient = {
    provider: "fake",
    protocol: "openai",
    baseUrl: "http://fake",
    async complete(_request, options = {}) {
      calls.push({ at: Date.now(), options });
      const error = next();
      if (error) throw error;
      return DONE;
    },
    async *stream(_request, options = {}) {
      calls.push({ at: Date.now(), options });
      const error = next();
      try {
        for (let i = 0; i < chunksBeforeFailure; i++) yield { type: "delta", text: `c${i}` } as CompletionChunk;
        if (error) throw error;
        yield { type: "delta", text: "ok" };
        yield { type: "done", model: "m", usage: { inputTokens: 1, outputTokens: 1 }, finishReason: "stop" };
      } finally {
        closed++;
      }
    },
  };
  return { client, calls, closedCount: () => closed };
}

const unavailable = () => new ProviderUnavailableError("down", { data: { provider: "fake" } });
const limited = (retryAfterSec: number) => new ProviderRateLimitedError("slow", { data: { provider: "fake", retryAfterSec } });

describe("completeWithRetry", () => {
  it("retries retryable errors up to maxAttempts, reporting each wait", async () => {
    const { client, calls } = scripted([unavailable(), new ProviderOverloadedError("busy"), undefined]);
    const events: number[] = [];
    await expect(completeWithRetry(client, REQUEST, {}, { ...FAST, onRetry: (e) => events.push(e.attempt) })).resolves.toEqual(DONE);
    expect(calls).toHaveLength(3);
    expect(events).toEqual([1, 2]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const last = unavailable();
    const { client, calls } = scripted([unavailable(), last, undefined]);
    await expect(completeWithRetry(client, REQUEST, {}, { ...FAST, maxAttempts: 2 })).rejects.toBe(last);
    expect(calls).toHaveLength(2);
  });

  it("never retries a non-retryable error", async () => {
    const { client, calls } = scripted([new ProviderBadRequestError("no"), undefined]);
    await expect(completeWithRetry(client, REQUEST, {}, FAST)).rejects.toThrow("no");
    expect(calls).toHaveLength(1);
  });

  it("waits at least the Retry-After, even when the backoff is shorter", async () => {
    const { client, calls } = scripted([limited(0.25), undefined]);
    await completeWithRetry(client, REQUEST, {}, FAST);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(250);
  });

  it("refuses to wait a Retry-After beyond maxRetryAfterMs", async () => {
    const { client, calls } = scripted([limited(120), undefined]);
    await expect(completeWithRetry(client, REQUEST, {}, FAST)).rejects.toMatchObject({ code: "PROVIDER_RATE_LIMITED" });
    expect(calls).toHaveLength(1);
  });

  it("fails at once when the wait would end past the deadline", async () => {
    const { client, calls } = scripted([limited(0.5), undefined]);
    const started = Date.now();
    await expect(completeWithRetry(client, REQUEST, { deadline: started + 300 }, FAST)).rejects.toMatchObject({ code: "PROVIDER_RATE_LIMITED" });
    expect(Date.now() - started).toBeLessThan(100);
    expect(calls).toHaveLength(1);
  });

  it("passes the deadline and the attempt timeout to every attempt", async () => {
    const { client, calls } = scripted([undefined]);
    const deadline = Date.now() + 5_000;
    await completeWithRetry(client, REQUEST, { deadline }, { attemptTimeoutMs: 700 });
    expect(calls[0]!.options).toEqual({ deadline, timeoutMs: 700 });
  });

  it("stops waiting when the caller aborts, with the last error", async () => {
    const { client, calls } = scripted([limited(5), undefined]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    await expect(completeWithRetry(client, REQUEST, { signal: controller.signal }, FAST)).rejects.toMatchObject({ code: "PROVIDER_RATE_LIMITED" });
    expect(Date.now() - started).toBeLessThan(500);
    expect(calls).toHaveLength(1);
  });

  it("honours the retryable flag of a rebuilt plain error", async () => {
    const plain = Object.assign(new Error("from another node"), { code: "PROVIDER_UNAVAILABLE", retryable: true });
    const { client, calls } = scripted([plain, undefined]);
    await completeWithRetry(client, REQUEST, {}, FAST);
    expect(calls).toHaveLength(2);
  });
});

describe("streamWithRetry", () => {
  it("retries a stream that failed before its first chunk", async () => {
    const { client, calls } = scripted([unavailable(), undefined]);
    const completion = await collectStream(streamWithRetry(client, REQUEST, {}, FAST));
    expect(completion.text).toBe("ok");
    expect(calls).toHaveLength(2);
  });

  it("passes on an error after the first chunk, without retrying", async () => {
    const { client, calls } = scripted([unavailable(), undefined], 2);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of streamWithRetry(client, REQUEST, {}, FAST)) if (chunk.type === "delta") seen.push(chunk.text);
      })(),
    ).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    expect(seen).toEqual(["c0", "c1"]);
    expect(calls).toHaveLength(1);
  });

  it("closes the stream below when the consumer stops early", async () => {
    const { client, closedCount } = scripted([undefined], 5);
    for await (const chunk of streamWithRetry(client, REQUEST, {}, FAST)) {
      if (chunk.type === "delta") break;
    }
    expect(closedCount()).toBe(1);
  });
});

describe("withRetry", () => {
  it("wraps a client, keeping its identity", async () => {
    const { client, calls } = scripted([unavailable(), undefined, unavailable(), undefined]);
    const retrying = withRetry(client, FAST);
    expect(retrying).toMatchObject({ provider: "fake", protocol: "openai", baseUrl: "http://fake" });
    await expect(retrying.complete(REQUEST)).resolves.toEqual(DONE);
    expect((await drain(retrying.stream(REQUEST))).at(-1)).toMatchObject({ type: "done" });
    expect(calls).toHaveLength(4);
  });
});
