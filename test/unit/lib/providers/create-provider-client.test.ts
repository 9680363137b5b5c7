import { PROVIDERS } from "../../../../config/file-schema";
import { ConfigError, describeError } from "../../../../lib/errors";
import { createProviderClient, ollamaHostUrl, resolveProviderEndpoint, type ProviderExpert } from "../../../../lib/providers";
import { startProviderStub, type ProviderStub } from "../../../helpers/provider-stubs";
import { ANSWER, KEY, REQUEST } from "./provider-contract";

const expert = (provider: ProviderExpert["provider"], extra: Partial<ProviderExpert> = {}): ProviderExpert => ({ id: `e-${provider}`, provider, ...extra });

const KEYS = {
  ANTHROPIC_API_KEY: "a-key",
  OPENAI_API_KEY: "o-key",
  DEEPSEEK_API_KEY: "d-key",
  OPENROUTER_API_KEY: "r-key",
  GROQ_API_KEY: "g-key",
  GEMINI_API_KEY: "gm-key",
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveProviderEndpoint", () => {
  it.each([
    ["anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"],
    ["openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY"],
    ["deepseek", "openai", "https://api.deepseek.com", "DEEPSEEK_API_KEY"],
    ["openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"],
    ["groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"],
    ["vllm", "openai", "http://127.0.0.1:8000/v1", undefined],
    ["lmstudio", "openai", "http://127.0.0.1:1234/v1", undefined],
    ["localai", "openai", "http://127.0.0.1:8080/v1", undefined],
    ["gemini", "gemini", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY"],
    ["ollama", "ollama", "http://127.0.0.1:11434", undefined],
  ] as const)("%s speaks %s at %s, key from %s", (provider, protocol, baseUrl, keyEnv) => {
    const endpoint = resolveProviderEndpoint(expert(provider), KEYS);
    expect(endpoint).toMatchObject({ provider, protocol, baseUrl, keyEnv });
    expect(endpoint.apiKey).toBe(keyEnv ? KEYS[keyEnv] : undefined);
  });

  it("takes base URLs from the environment, the expert's own first", () => {
    const env = { ...KEYS, OPENAI_BASE_URL: "http://proxy:9000/v1/", ANTHROPIC_BASE_URL: "http://a-proxy", GEMINI_BASE_URL: "http://g-proxy", OLLAMA_HOST: "http://gpu-box:11434" };
    expect(resolveProviderEndpoint(expert("openai"), env).baseUrl).toBe("http://proxy:9000/v1");
    expect(resolveProviderEndpoint(expert("anthropic"), env).baseUrl).toBe("http://a-proxy");
    expect(resolveProviderEndpoint(expert("gemini"), env).baseUrl).toBe("http://g-proxy");
    expect(resolveProviderEndpoint(expert("ollama"), env).baseUrl).toBe("http://gpu-box:11434");
    expect(resolveProviderEndpoint(expert("openai", { baseUrl: "https://azure.example/v1" }), env).baseUrl).toBe("https://azure.example/v1");
    // OPENAI_BASE_URL is OpenAI's: a DeepSeek expert keeps its own endpoint.
    expect(resolveProviderEndpoint(expert("deepseek"), env).baseUrl).toBe("https://api.deepseek.com");
  });

  it("reads OLLAMA_HOST the way Ollama does", () => {
    expect(ollamaHostUrl("0.0.0.0")).toBe("http://0.0.0.0:11434");
    expect(ollamaHostUrl("gpu-box:8080")).toBe("http://gpu-box:8080");
    expect(ollamaHostUrl("https://ollama.example")).toBe("https://ollama.example");
    expect(resolveProviderEndpoint(expert("ollama"), { OLLAMA_HOST: "localhost" }).baseUrl).toBe("http://localhost:11434");
  });

  it("reads the key from the expert's apiKeyEnv", () => {
    const endpoint = resolveProviderEndpoint(expert("openai", { apiKeyEnv: "TEAM_OPENAI_KEY" }), { TEAM_OPENAI_KEY: "team" });
    expect(endpoint).toMatchObject({ apiKey: "team", keyEnv: "TEAM_OPENAI_KEY" });
  });

  it.each(["anthropic", "openai", "deepseek", "openrouter", "groq", "gemini"] as const)("a %s expert without its key is a configuration error naming the variable", (provider) => {
    const err = configError(() => resolveProviderEndpoint(expert(provider), { [`${provider.toUpperCase()}_API_KEY`]: "" }));
    const variable = `${provider.toUpperCase()}_API_KEY`;
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain(`set ${variable}`);
    expect(err.issues[0]!.field).toBe(variable);
    expect(err.data).toMatchObject({ expertId: `e-${provider}`, provider, env: variable });
    expect(describeError(err)).toContain(variable);
  });

  it("names the expert's own variable when that one is missing, even for a local server", () => {
    const err = configError(() => resolveProviderEndpoint(expert("vllm", { apiKeyEnv: "VLLM_KEY" }), {}));
    expect(err.message).toBe('Expert "e-vllm" (vllm) has no API key: set VLLM_KEY');
  });

  it("local servers need no key", () => {
    for (const provider of ["vllm", "lmstudio", "localai", "ollama"] as const) {
      expect(resolveProviderEndpoint(expert(provider), {}).apiKey).toBeUndefined();
    }
  });

  it("openai-compatible needs a baseUrl and never borrows OpenAI's key", () => {
    expect(configError(() => resolveProviderEndpoint(expert("openai-compatible"), KEYS)).issues[0]!.field).toBe("experts.e-openai-compatible.baseUrl");
    const endpoint = resolveProviderEndpoint(expert("openai-compatible", { baseUrl: "http://10.0.0.5:8000/v1" }), KEYS);
    expect(endpoint).toMatchObject({ protocol: "openai", baseUrl: "http://10.0.0.5:8000/v1", apiKey: undefined });
  });
});

describe("createProviderClient", () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub({ apiKey: KEY });
  });
  afterEach(() => stub.reset());
  afterAll(() => stub.close());

  const PATHS = { anthropic: "/v1/messages", openai: "/v1/chat/completions", gemini: "/v1beta/models/stub-model:generateContent", ollama: "/api/chat" };

  it.each(PROVIDERS.map((p) => [p]))("a %s expert reaches its protocol's endpoint and answers", async (provider) => {
    const protocol = resolveProviderEndpoint(expert(provider, { baseUrl: "http://x" }), KEYS).protocol;
    const client = createProviderClient(expert(provider, { baseUrl: stub.baseUrl(protocol), apiKeyEnv: "STUB_KEY" }), { STUB_KEY: KEY });
    expect(client).toMatchObject({ provider, protocol, baseUrl: stub.baseUrl(protocol) });
    const completion = await client.complete(REQUEST);
    expect(completion.text).toBe(ANSWER);
    expect(stub.requests.map((r) => r.path)).toEqual([PATHS[protocol]]);
    const body = stub.requests[0]!.body as Record<string, unknown>;
    if (protocol === "openai") {
      await client.complete({ ...REQUEST, maxTokens: 7 });
      // OpenAI's own API wants max_completion_tokens; compatible servers know max_tokens.
      expect(stub.requests[1]!.body).toHaveProperty(provider === "openai" ? "max_completion_tokens" : "max_tokens", 7);
    }
    expect(body).toBeDefined();
  });
});
