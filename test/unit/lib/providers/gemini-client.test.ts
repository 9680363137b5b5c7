import { completeWithRetry, GeminiClient } from "../../../../lib/providers";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { ANSWER, caught, describeProviderContract, drain, FAST_RETRY, KEY, QUESTION, REQUEST, SYSTEM } from "./provider-contract";

const client = (stub: ProviderStub, apiKey: string) => new GeminiClient({ provider: "gemini", baseUrl: stub.baseUrl("gemini"), apiKey });

describeProviderContract({ protocol: "gemini", overloadedStatus: 503, keyed: true, client });

describe("Gemini wire format", () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub({ apiKey: KEY });
  });
  afterEach(() => stub.reset());
  afterAll(() => stub.close());

  it("posts to /v1beta/models/{model}:generateContent with x-goog-api-key, never the key in the URL", async () => {
    const completion = await client(stub, KEY).complete({
      model: "gemini-2.0-flash",
      messages: [...REQUEST.messages, { role: "assistant", content: "Canberra." }, { role: "user", content: "Sure?" }],
      maxTokens: 64,
      temperature: 0.5,
    });
    expect(completion).toMatchObject({ model: "gemini-2.0-flash", providerFinishReason: "STOP", text: "This is gemini-2.0-flash answering: Sure?" });
    expect(completion.id).toBeDefined();
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1beta/models/gemini-2.0-flash:generateContent" });
    expect(request!.path).not.toContain(KEY);
    expect(request!.headers["x-goog-api-key"]).toBe(KEY);
    expect(request!.body).toEqual({
      contents: [
        { role: "user", parts: [{ text: QUESTION }] },
        { role: "model", parts: [{ text: "Canberra." }] },
        { role: "user", parts: [{ text: "Sure?" }] },
      ],
      systemInstruction: { parts: [{ text: SYSTEM }] },
      generationConfig: { maxOutputTokens: 64, temperature: 0.5 },
    });
  });

  it("streams from :streamGenerateContent?alt=sse", async () => {
    const chunks = await drain(client(stub, KEY).stream({ ...REQUEST, model: "models/gemini-2.5-pro" }));
    expect(stub.requests[0]!.path).toBe("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
    expect(chunks.at(-1)).toMatchObject({ type: "done", providerFinishReason: "STOP", model: "gemini-2.5-pro" });
  });

  it("takes a bad key (400 API_KEY_INVALID) for what it is: an auth failure", async () => {
    const err = await caught(client(stub, "wrong-key-123456").complete(REQUEST));
    expect(err).toMatchObject({ code: "PROVIDER_AUTH_FAILED", retryable: false, data: { status: 400, providerType: "INVALID_ARGUMENT", providerCode: "API_KEY_INVALID" } });
  });

  it("reads the wait from RetryInfo in the body", async () => {
    stub.inject({ status: 429, retryAfter: 37 });
    const err = await caught(client(stub, KEY).complete(REQUEST));
    expect(err).toMatchObject({ code: "PROVIDER_RATE_LIMITED", data: { retryAfterSec: 37, providerType: "RESOURCE_EXHAUSTED" } });
  });

  it("maps 503 UNAVAILABLE (model overloaded) and retries it", async () => {
    stub.inject({ status: 503 });
    const completion = await completeWithRetry(client(stub, KEY), REQUEST, {}, FAST_RETRY);
    expect(completion.text).toBe(ANSWER);
    expect(stub.requests).toHaveLength(2);
  });

  it("reports a blocked prompt as a content filter stop with no text", async () => {
    const blocked = new GeminiClient({ provider: "gemini", baseUrl: "http://unused" });
    const toCompletion = (blocked as unknown as { toCompletion: (json: unknown, r: typeof REQUEST) => unknown }).toCompletion.bind(blocked);
    expect(toCompletion({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } }, REQUEST)).toMatchObject({
      text: "",
      finishReason: "content_filter",
      providerFinishReason: "SAFETY",
      usage: { inputTokens: 9, outputTokens: 0 },
    });
  });

  it("bills thoughts as output tokens", async () => {
    const thinking = new GeminiClient({ provider: "gemini", baseUrl: "http://unused" });
    const toCompletion = (thinking as unknown as { toCompletion: (json: unknown, r: typeof REQUEST) => unknown }).toCompletion.bind(thinking);
    const json = {
      candidates: [{ content: { role: "model", parts: [{ text: "thinking…", thought: true }, { text: "Canberra." }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 2, thoughtsTokenCount: 30, totalTokenCount: 42 },
    };
    expect(toCompletion(json, REQUEST)).toMatchObject({ text: "Canberra.", usage: { inputTokens: 10, outputTokens: 32 } });
  });
});
