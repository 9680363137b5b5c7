export type * from "./types";
export { AnthropicClient, ANTHROPIC_VERSION, ANTHROPIC_DEFAULT_MAX_TOKENS } from "./anthropic-client";
export { OpenAiClient, OPENAI_DEFAULT_BASE_URL, type OpenAiClientOptions } from "./openai-client";
export { GeminiClient, GEMINI_DEFAULT_BASE_URL } from "./gemini-client";
export { OllamaClient, OLLAMA_DEFAULT_HOST } from "./ollama-client";
export type { HttpClientOptions } from "./http-provider-client";
export { PROVIDER_CATALOG, type ProviderName, type ProviderSpec } from "./provider-catalog";
export {
  createProviderClient,
  resolveProviderEndpoint,
  ollamaHostUrl,
  type ProviderEndpoint,
  type ProviderEnv,
  type ProviderExpert,
} from "./create-provider-client";
export {
  completeWithRetry,
  streamWithRetry,
  withRetry,
  DEFAULT_PROVIDER_BACKOFF,
  type ProviderRetryEvent,
  type ProviderRetryOptions,
} from "./retry";
export { collectStream } from "./collect-stream";
export { redact } from "./provider-error";
