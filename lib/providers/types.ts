/**
 * What every provider client offers, whatever wire protocol it speaks. The
 * expert actors, the coordinator and the cost accounting only see these types.
 */

/** The four wire protocols; many providers share the OpenAI one. */
export type Protocol = "anthropic" | "openai" | "gemini" | "ollama";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface CompletionRequest {
  model: string;
  messages: readonly ChatMessage[];
  /** Upper bound of output tokens; the Anthropic protocol requires one (default 1024). */
  maxTokens?: number;
  temperature?: number;
}

export interface CallOptions {
  /** The caller gives up: the request is aborted and its reason rethrown. */
  signal?: AbortSignal;
  /** Epoch ms after which the call fails with DEADLINE_EXCEEDED (the stream included). */
  deadline?: number;
  /**
   * This attempt's own bound in ms. When it passes before the deadline the call
   * fails with PROVIDER_TIMEOUT, which is retryable: time remains.
   */
  timeoutMs?: number;
}

/** Tokens as the provider counted and billed them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** Why the model stopped, in one vocabulary; the provider's own word is kept beside it. */
export type FinishReason = "stop" | "length" | "content_filter" | "tool_use" | "other";

export interface Completion {
  text: string;
  /** The model that answered, as the provider names it (may be more precise than the one asked for). */
  model: string;
  usage: Usage;
  finishReason: FinishReason;
  /** The provider's stop reason as sent (`end_turn`, `MAX_TOKENS`, …). */
  providerFinishReason?: string;
  /** The provider's id of this response, when it gives one. */
  id?: string;
  /** Set when the provider reported no usage (some OpenAI-compatible servers): the zeros are not real counts. */
  usageMissing?: true;
}

/** Everything of a completion but its text: what the last stream chunk carries. */
export type CompletionEnd = Omit<Completion, "text">;

/** A stream is text deltas, then exactly one `done` chunk with the usage. */
export type CompletionChunk = { type: "delta"; text: string } | ({ type: "done" } & CompletionEnd);

export interface ProviderClient {
  /** The configured provider (`deepseek`, `ollama`, …): the label in errors and metrics. */
  readonly provider: string;
  readonly protocol: Protocol;
  /** The endpoint this client talks to: what a circuit breaker guards. */
  readonly baseUrl: string;
  complete(request: CompletionRequest, options?: CallOptions): Promise<Completion>;
  stream(request: CompletionRequest, options?: CallOptions): AsyncIterable<CompletionChunk>;
}
