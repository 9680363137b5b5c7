import type { ExpertConfig } from "../../config/file-schema";
import type { ExpertAnswer } from "../circle/expert-answer";
import type { PriceTable } from "../costs/price-table";
import { completeWithRetry, type ProviderRetryOptions } from "../providers/retry";
import type { ChatMessage, ProviderClient } from "../providers/types";
import { ProviderBreaker, type BreakerState, type ProviderBreakerOptions } from "./provider-breaker";

/** What an expert is asked: the conversation and the knobs that change an answer. */
export interface AskInput {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
}

export interface ExpertCallerOptions {
  expert: ExpertConfig;
  client: ProviderClient;
  prices: PriceTable;
  retry?: ProviderRetryOptions;
  breaker?: ProviderBreakerOptions;
  /** Told when the breaker around the provider changes state. */
  onBreakerChange?: (state: BreakerState) => void;
  now?: () => number;
}

/** Output tokens asked for when neither the call nor the expert's configuration says. */
export const DEFAULT_EXPERT_MAX_TOKENS = 1_024;

/**
 * One expert's calls to its provider: every attempt goes through the
 * endpoint's circuit breaker, retryable failures are retried (Retry-After
 * honoured) within the deadline, and the answer carries usage and cost.
 */
export class ExpertCaller {
  readonly breaker: ProviderBreaker;
  private readonly guarded: ProviderClient;
  private readonly now: () => number;

  constructor(private readonly options: ExpertCallerOptions) {
    const { client } = options;
    this.now = options.now ?? Date.now;
    this.breaker = new ProviderBreaker(`${client.provider} ${client.baseUrl}`, options.breaker, options.onBreakerChange);
    const breaker = this.breaker;
    this.guarded = {
      provider: client.provider,
      protocol: client.protocol,
      baseUrl: client.baseUrl,
      complete: (request, callOptions) => breaker.run(() => client.complete(request, callOptions)),
      stream: (request, callOptions) => client.stream(request, callOptions),
    };
  }

  /** The expert's answer, or the typed error of its last attempt. */
  async ask(input: AskInput, deadline: number, signal?: AbortSignal): Promise<ExpertAnswer> {
    const { expert, prices } = this.options;
    const started = this.now();
    let attempts = 1;
    const completion = await completeWithRetry(
      this.guarded,
      {
        model: expert.model,
        messages: input.messages,
        maxTokens: input.maxTokens ?? expert.maxTokens ?? DEFAULT_EXPERT_MAX_TOKENS,
        ...(input.temperature ?? expert.temperature) !== undefined ? { temperature: input.temperature ?? expert.temperature } : {},
      },
      { deadline, ...(signal ? { signal } : {}) },
      {
        ...this.options.retry,
        onRetry: (event) => {
          attempts = event.attempt + 1;
          this.options.retry?.onRetry?.(event);
        },
      },
    );
    const cost = prices.costOf(prices.priceOf(expert), completion.usage);
    return {
      expertId: expert.id,
      answeredBy: expert.id,
      provider: expert.provider,
      model: completion.model || expert.model,
      text: completion.text,
      usage: { inputTokens: completion.usage.inputTokens, outputTokens: completion.usage.outputTokens },
      costUsd: cost.usd,
      priced: cost.priced,
      attempts,
      latencyMs: this.now() - started,
      finishReason: completion.finishReason,
    };
  }
}
