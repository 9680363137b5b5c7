import { AnthropicClient, streamWithRetry } from "../../../../lib/providers";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { ANSWER, caught, describeProviderContract, drain, FAST_RETRY, KEY, QUESTION, REQUEST, SYSTEM } from "./provider-contract";

const client = (stub: ProviderStub, apiKey: string) => new AnthropicClient({ provider: "anthropic", baseUrl: stub.baseUrl("anthropic"), apiKey });

describeProviderContract({ protocol: "anthropic", overloadedStatus: 529, keyed: true, client });

describe("Anthropic Messages wire format", () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub({ apiKey: KEY });
  });
  afterEach(() => stub.reset());
  afterAll(() => stub.close());

  it("posts to /v1/messages with x-api-key and anthropic-version, the system prompt beside the messages", async () => {
    const completion = await client(stub, KEY).complete({ ...REQUEST, temperature: 0.2 });
    expect(completion.id).toMatch(/^msg_01/);
    expect(completion.providerFinishReason).toBe("end_turn");
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/messages" });
    expect(request!.headers).toMatchObject({ "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" });
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toEqual({ model: "stub-model", max_tokens: 1024, system: SYSTEM, messages: [{ role: "user", content: QUESTION }], temperature: 0.2 });
  });

  it("asks for a stream with stream: true and reads the SSE events", async () => {
    const chunks = await drain(client(stub, KEY).stream({ ...REQUEST, maxTokens: 50 }));
    expect(stub.requests[0]!.body).toMatchObject({ stream: true, max_tokens: 50 });
    expect(stub.requests[0]!.headers.accept).toBe("text/event-stream");
    expect(chunks.at(-1)).toMatchObject({ type: "done", providerFinishReason: "end_turn" });
    expect(chunks.at(-1)).toHaveProperty("id", expect.stringMatching(/^msg_01/));
  });

  it("maps overloaded_error in a 200 stream to PROVIDER_OVERLOADED, retried before the first chunk", async () => {
    stub.inject({ streamError: { afterChunks: 0, status: 529 } });
    const chunks = await drain(streamWithRetry(client(stub, KEY), REQUEST, {}, FAST_RETRY));
    expect(chunks.filter((c) => c.type === "delta").map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(ANSWER);
    expect(stub.requests).toHaveLength(2);

    stub.inject({ streamError: { afterChunks: 0, status: 529 } });
    const err = await caught(drain(client(stub, KEY).stream(REQUEST)));
    expect(err).toMatchObject({ code: "PROVIDER_OVERLOADED", data: { providerType: "overloaded_error", providerMessage: "Overloaded", status: 529 } });
  });

  it("keeps the provider's error type, message and request id", async () => {
    stub.inject({ status: 400, errorMessage: "messages: roles must alternate" });
    const err = await caught(client(stub, KEY).complete(REQUEST));
    expect(err.message).toBe("anthropic answered HTTP 400 invalid_request_error: messages: roles must alternate");
    expect(err.data).toMatchObject({ status: 400, providerType: "invalid_request_error", requestId: expect.stringMatching(/^req_/) });
  });

  it("reads retry-after as an HTTP date", async () => {
    stub.inject({ status: 429, retryAfter: new Date(Date.now() + 30_000).toUTCString() });
    const err = await caught(client(stub, KEY).complete(REQUEST));
    expect(err.data.retryAfterSec).toBeGreaterThan(27);
    expect(err.data.retryAfterSec).toBeLessThanOrEqual(30);
  });
});
