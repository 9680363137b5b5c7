import { collectStream, completeWithRetry, OpenAiClient } from "../../../../lib/providers";
import { countTokens, startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { ANSWER, caught, describeProviderContract, drain, FAST_RETRY, KEY, OUTPUT_TOKENS, REQUEST } from "./provider-contract";

const client = (stub: ProviderStub, apiKey: string) => new OpenAiClient({ provider: "openai", baseUrl: stub.baseUrl("openai"), apiKey });

describeProviderContract({ protocol: "openai", overloadedStatus: 503, keyed: true, client });

describe("OpenAI chat completions wire format", () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub({ apiKey: KEY });
  });
  afterEach(() => stub.reset());
  afterAll(() => stub.close());

  it("posts to {base}/chat/completions with Bearer auth, every message in order", async () => {
    const completion = await client(stub, KEY).complete({ ...REQUEST, maxTokens: 100, temperature: 0 });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.providerFinishReason).toBe("stop");
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request!.body).toEqual({ model: "stub-model", messages: REQUEST.messages, max_tokens: 100, temperature: 0 });
  });

  it("sends max_completion_tokens when told to (OpenAI's newer models)", async () => {
    const modern = new OpenAiClient({ provider: "openai", baseUrl: stub.baseUrl("openai"), apiKey: KEY, maxTokensField: "max_completion_tokens" });
    await modern.complete({ ...REQUEST, maxTokens: 5 });
    expect(stub.requests[0]!.body).toMatchObject({ max_completion_tokens: 5 });
    expect(stub.requests[0]!.body).not.toHaveProperty("max_tokens");
  });

  it("asks streams for include_usage and reads the usage-only chunk before [DONE]", async () => {
    const chunks = await drain(client(stub, KEY).stream(REQUEST));
    expect(stub.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(chunks.at(-1)).toMatchObject({ type: "done", usage: { outputTokens: OUTPUT_TOKENS }, id: expect.stringMatching(/^chatcmpl-/) });
  });

  it("says so when a compatible server reports no usage", async () => {
    const localai = new OpenAiClient({ provider: "localai", baseUrl: stub.baseUrl("openai"), apiKey: KEY });
    stub.inject({ omitUsage: true }, {}, 2);
    const whole = await localai.complete(REQUEST);
    const streamed = await collectStream(localai.stream(REQUEST));
    for (const completion of [whole, streamed]) {
      expect(completion).toMatchObject({ text: ANSWER, usage: { inputTokens: 0, outputTokens: 0 }, usageMissing: true, finishReason: "stop" });
    }
  });

  it("treats insufficient_quota as a rate limit that waiting does not cure", async () => {
    stub.inject({ status: 429, errorType: "insufficient_quota", errorCode: "insufficient_quota", errorMessage: "You exceeded your current quota." }, {}, 3);
    const err = await caught(completeWithRetry(client(stub, KEY), REQUEST, {}, FAST_RETRY));
    expect(err).toMatchObject({ code: "PROVIDER_RATE_LIMITED", retryable: false, data: { providerCode: "insufficient_quota" } });
    expect(stub.requests).toHaveLength(1);
  });

  it("reads x-ratelimit-reset-requests when there is no Retry-After", async () => {
    stub.inject({ status: 429 });
    const err = await caught(client(stub, KEY).complete(REQUEST));
    expect(err.data).toMatchObject({ retryAfterSec: 20, providerCode: "rate_limit_exceeded", providerType: "requests" });
  });

  it("redacts the masked key OpenAI echoes in its 401", async () => {
    const err = await caught(client(stub, "sk-proj-abcdefghijklmnop").complete(REQUEST));
    expect(err.code).toBe("PROVIDER_AUTH_FAILED");
    expect(err.data.providerMessage).toMatch(/^Incorrect API key provided: \[redacted\]\. /);
    expect(JSON.stringify(err.toJSON())).not.toMatch(/sk-pr|mnop/);
  });

  it("sends no Authorization header to a server configured without a key", async () => {
    const vllm = new OpenAiClient({ provider: "vllm", baseUrl: stub.baseUrl("openai") });
    stub.inject({ status: 400, errorType: "BadRequestError", errorMessage: "This model's maximum context length is 4096 tokens." });
    const err = await caught(vllm.complete(REQUEST));
    expect(err).toMatchObject({ code: "PROVIDER_BAD_REQUEST", data: { provider: "vllm", providerType: "BadRequestError" } });
    expect(stub.requests[0]!.headers.authorization).toBeUndefined();
  });

  it("reads the error bodies of compatible servers: vLLM's flat one, a bare string, FastAPI's detail, plain text", () => {
    const errorInfo = (body: unknown, text = "") =>
      (new OpenAiClient({ provider: "vllm", baseUrl: "http://unused" }) as unknown as { errorInfo: (b: unknown, t: string) => unknown }).errorInfo(body, text);
    expect(errorInfo({ object: "error", message: "maximum context length is 4096 tokens", type: "BadRequestError", param: null, code: 400 })).toEqual({
      type: "BadRequestError",
      message: "maximum context length is 4096 tokens",
    });
    expect(errorInfo({ error: "Model not loaded" })).toEqual({ type: undefined, message: "Model not loaded" });
    expect(errorInfo({ detail: "Not Found" })).toEqual({ type: undefined, message: "Not Found" });
    expect(errorInfo(undefined, "<html>502 Bad Gateway</html>")).toEqual({ type: undefined, message: "<html>502 Bad Gateway</html>" });
  });

  it("counts usage the same streamed or not", async () => {
    const streamed = await collectStream(client(stub, KEY).stream(REQUEST));
    const whole = await client(stub, KEY).complete(REQUEST);
    expect(streamed.usage).toEqual(whole.usage);
    expect(whole.usage.outputTokens).toBe(countTokens(whole.text));
  });
});
