import type { ExpertConfig } from "../../config/file-schema";
import { GEMINI_DEFAULT_BASE_URL } from "./gemini-client";
import { OLLAMA_DEFAULT_HOST } from "./ollama-client";
import { OPENAI_DEFAULT_BASE_URL } from "./openai-client";
import type { Protocol } from "./types";

export type ProviderName = ExpertConfig["provider"];

export interface ProviderSpec {
  protocol: Protocol;
  /** Undefined: the expert must give `baseUrl`. */
  defaultBaseUrl?: string;
  /** The environment variable that overrides the default base URL. */
  baseUrlEnv?: string;
  /** The environment variable the key is read from, unless the expert names another (`apiKeyEnv`). */
  keyEnv?: string;
  /** Whether a call without a key is pointless. Local servers need none. */
  keyRequired: boolean;
}

/**
 * Every provider CORE knows: its wire protocol, where it lives by default and
 * where its key comes from. Providers speaking the OpenAI protocol differ only
 * in base URL and key.
 */
export const PROVIDER_CATALOG: Readonly<Record<ProviderName, ProviderSpec>> = {
  anthropic: { protocol: "anthropic", defaultBaseUrl: "https://api.anthropic.com", baseUrlEnv: "ANTHROPIC_BASE_URL", keyEnv: "ANTHROPIC_API_KEY", keyRequired: true },
  openai: { protocol: "openai", defaultBaseUrl: OPENAI_DEFAULT_BASE_URL, baseUrlEnv: "OPENAI_BASE_URL", keyEnv: "OPENAI_API_KEY", keyRequired: true },
  // Any server with the OpenAI protocol: its URL must be given, and no other provider's key is ever sent to it.
  "openai-compatible": { protocol: "openai", keyRequired: false },
  deepseek: { protocol: "openai", defaultBaseUrl: "https://api.deepseek.com", keyEnv: "DEEPSEEK_API_KEY", keyRequired: true },
  openrouter: { protocol: "openai", defaultBaseUrl: "https://openrouter.ai/api/v1", keyEnv: "OPENROUTER_API_KEY", keyRequired: true },
  groq: { protocol: "openai", defaultBaseUrl: "https://api.groq.com/openai/v1", keyEnv: "GROQ_API_KEY", keyRequired: true },
  vllm: { protocol: "openai", defaultBaseUrl: "http://127.0.0.1:8000/v1", keyRequired: false },
  lmstudio: { protocol: "openai", defaultBaseUrl: "http://127.0.0.1:1234/v1", keyRequired: false },
  localai: { protocol: "openai", defaultBaseUrl: "http://127.0.0.1:8080/v1", keyRequired: false },
  gemini: { protocol: "gemini", defaultBaseUrl: GEMINI_DEFAULT_BASE_URL, baseUrlEnv: "GEMINI_BASE_URL", keyEnv: "GEMINI_API_KEY", keyRequired: true },
  ollama: { protocol: "ollama", defaultBaseUrl: OLLAMA_DEFAULT_HOST, baseUrlEnv: "OLLAMA_HOST", keyRequired: false },
};
