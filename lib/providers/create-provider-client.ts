import type { ExpertConfig } from "../../config/file-schema";
import { ConfigError } from "../errors/errors";
import { AnthropicClient } from "./anthropic-client";
import { GeminiClient } from "./gemini-client";
import { OllamaClient } from "./ollama-client";
import { OpenAiClient } from "./openai-client";
import { PROVIDER_CATALOG, type ProviderName } from "./provider-catalog";
import type { Protocol, ProviderClient } from "./types";

/** What the factory reads of an expert entry (a whole ExpertConfig fits). */
export type ProviderExpert = Pick<ExpertConfig, "id" | "provider"> & Partial<Pick<ExpertConfig, "baseUrl" | "apiKeyEnv">>;

export type ProviderEnv = Readonly<Record<string, string | undefined>>;

export interface ProviderEndpoint {
  provider: ProviderName;
  protocol: Protocol;
  baseUrl: string;
  /** The variable the key was read from; undefined when no key is used. */
  keyEnv: string | undefined;
  /** Never log this object whole: it holds the key. */
  apiKey: string | undefined;
}

/**
 * OLLAMA_HOST as Ollama itself reads it: `host`, `host:port` or a URL; without
 * a scheme it is http on port 11434.
 */
export function ollamaHostUrl(value: string): string {
  const trimmed = value.trim();
  if (trimmed.includes("://")) return trimmed;
  const url = new URL(`http://${trimmed}`);
  if (url.port === "") url.port = "11434";
  return url.toString().replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * Where an expert's provider lives and which key it uses: the expert's own
 * `baseUrl`/`apiKeyEnv` first, then the provider's environment variables,
 * then the provider's default. A key that is needed and missing is a
 * configuration error naming the variable to set.
 */
export function resolveProviderEndpoint(expert: ProviderExpert, env: ProviderEnv = process.env): ProviderEndpoint {
  const spec = (PROVIDER_CATALOG as Readonly<Record<string, (typeof PROVIDER_CATALOG)[ProviderName] | undefined>>)[expert.provider];
  if (!spec) {
    throw new ConfigError(`Expert "${expert.id}" names an unknown provider "${expert.provider}"`, {
      issues: [{ field: `experts.${expert.id}.provider`, message: `one of ${Object.keys(PROVIDER_CATALOG).join(", ")}`, received: expert.provider }],
      data: { expertId: expert.id, provider: expert.provider },
    });
  }

  const fromEnv = spec.baseUrlEnv ? nonEmpty(env[spec.baseUrlEnv]) : undefined;
  const envBase = fromEnv && spec.baseUrlEnv === "OLLAMA_HOST" ? ollamaHostUrl(fromEnv) : fromEnv;
  const baseUrl = nonEmpty(expert.baseUrl) ?? envBase ?? spec.defaultBaseUrl;
  if (!baseUrl) {
    throw new ConfigError(`Expert "${expert.id}" (${expert.provider}) needs a baseUrl: the address of its OpenAI-compatible server`, {
      issues: [{ field: `experts.${expert.id}.baseUrl`, message: "an http(s) URL such as http://127.0.0.1:8000/v1" }],
      data: { expertId: expert.id, provider: expert.provider },
    });
  }

  // An expert that names a variable needs it, whatever the provider.
  const keyEnv = expert.apiKeyEnv ?? spec.keyEnv;
  const apiKey = keyEnv ? nonEmpty(env[keyEnv]) : undefined;
  if (!apiKey && keyEnv && (spec.keyRequired || expert.apiKeyEnv)) {
    throw new ConfigError(`Expert "${expert.id}" (${expert.provider}) has no API key: set ${keyEnv}`, {
      issues: [{ field: keyEnv, message: `unset or empty; the ${expert.provider} API key for expert "${expert.id}" is read from it` }],
      data: { expertId: expert.id, provider: expert.provider, env: keyEnv },
    });
  }

  return { provider: expert.provider as ProviderName, protocol: spec.protocol, baseUrl: baseUrl.replace(/\/+$/, ""), keyEnv: apiKey ? keyEnv : undefined, apiKey };
}

/** The client for an expert entry of the configuration. */
export function createProviderClient(expert: ProviderExpert, env: ProviderEnv = process.env): ProviderClient {
  const endpoint = resolveProviderEndpoint(expert, env);
  const options = { provider: endpoint.provider, baseUrl: endpoint.baseUrl, ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}) };
  switch (endpoint.protocol) {
    case "anthropic":
      return new AnthropicClient(options);
    case "gemini":
      return new GeminiClient(options);
    case "ollama":
      return new OllamaClient(options);
    case "openai":
      return new OpenAiClient({ ...options, maxTokensField: endpoint.provider === "openai" ? "max_completion_tokens" : "max_tokens" });
  }
}
