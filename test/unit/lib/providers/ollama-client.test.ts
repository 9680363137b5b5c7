import { OllamaClient } from "../../../../lib/providers";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { caught, describeProviderContract, drain, REQUEST } from "./provider-contract";

const client = (stub: ProviderStub, apiKey: string) => new OllamaClient({ provider: "ollama", baseUrl: stub.baseUrl("ollama"), apiKey });

describeProviderContract({ protocol: "ollama", overloadedStatus: 503, keyed: false, client });

describe("Ollama wire format", () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub();
  });
  afterEach(() => stub.reset());
  afterAll(() => stub.close());

  it("posts to /api/chat with stream false, options for max tokens and temperature, and no key", async () => {
    const completion = await new OllamaClient({ provider: "ollama", baseUrl: stub.url }).complete({ ...REQUEST, model: "llama3.2", maxTokens: 200, temperature: 0.7 });
    expect(completion).toMatchObject({ model: "llama3.2", providerFinishReason: "stop" });
    expect(completion.id).toBeUndefined();
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: "POST", path: "/api/chat" });
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toEqual({ model: "llama3.2", messages: REQUEST.messages, stream: false, options: { num_predict: 200, temperature: 0.7 } });
  });

  it("streams NDJSON with stream: true", async () => {
    const chunks = await drain(new OllamaClient({ provider: "ollama", baseUrl: stub.url }).stream(REQUEST));
    expect(stub.requests[0]!.body).toMatchObject({ stream: true });
    expect(stub.requests[0]!.headers.accept).toBe("application/x-ndjson");
    expect(chunks.at(-1)).toMatchObject({ type: "done", providerFinishReason: "stop" });
  });

  it("maps a model that is not pulled (404) to PROVIDER_BAD_REQUEST with Ollama's message", async () => {
    stub.inject({ status: 404 });
    const err = await caught(new OllamaClient({ provider: "ollama", baseUrl: stub.url }).complete({ ...REQUEST, model: "mistral" }));
    expect(err).toMatchObject({ code: "PROVIDER_BAD_REQUEST", retryable: false, data: { status: 404, providerMessage: 'model "mistral" not found, try pulling it first' } });
  });

  it("maps a refused connection (Ollama not running) to PROVIDER_UNAVAILABLE", async () => {
    const closed = await startProviderStub();
    const url = closed.url;
    await closed.close();
    const err = await caught(new OllamaClient({ provider: "ollama", baseUrl: url }).complete(REQUEST));
    expect(err).toMatchObject({ code: "PROVIDER_UNAVAILABLE", retryable: true, data: { provider: "ollama", errorCode: "ECONNREFUSED" } });
  });
});
