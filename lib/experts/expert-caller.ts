import type { ExpertConfig } from "../../config/file-schema";
import type { ExpertAnswer } from "../circle/expert-answer";
import type { PriceTable } from "../costs/price-table";
import { completeWithRetry, streamWithRetry, type ProviderRetryOptions } from "../providers/retry";
import type { ChatMessage, CompletionChunk, CompletionEnd, CompletionRequest, ProviderClient } from "../providers/types";
import { untraced, type TraceStep } from "../tracing/trace-step";
import type { ExpertStreamEvent, StreamedAnswer } from "./expert-stream";
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
 * A stream whose opening (up to its first chunk) runs through the breaker:
 * an endpoint that is down fails there, and an open breaker refuses before
 * any request is sent. What fails later, mid-answer, is the caller's to see.
 */
async function* guardedStream(breaker: ProviderBreaker, stream: AsyncIterable<CompletionChunk>): AsyncGenerator<CompletionChunk> {
  const iterator = stream[Symbol.asyncIterator]();
  try {
    const first = await breaker.run(() => iterator.next());
    if (first.done) return;
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  } finally {
    await iterator.return?.();
  }
}

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
      stream: (request, callOptions) => guardedStream(breaker, client.stream(request, callOptions)),
    };
  }

  private request(input: AskInput): CompletionRequest {
    const { expert } = this.options;
    const temperature = input.temperature ?? expert.temperature;
    return {
      model: expert.model,
      messages: input.messages,
      maxTokens: input.maxTokens ?? expert.maxTokens ?? DEFAULT_EXPERT_MAX_TOKENS,
      ...(temperature !== undefined ? { temperature } : {}),
    };
  }

  /** Retries are counted into `attempts` (read when the answer is made). */
  private retryCounting(counter: { attempts: number }): ProviderRetryOptions {
    return {
      ...this.options.retry,
      onRetry: (event) => {
        counter.attempts = event.attempt + 1;
        this.options.retry?.onRetry?.(event);
      },
    };
  }

  /** The answer's facts but its text: usage priced at the expert's price. */
  private answerOf(end: CompletionEnd, started: number, attempts: number): StreamedAnswer {
    const { expert, prices } = this.options;
    const cost = prices.costOf(prices.priceOf(expert), end.usage);
    return {
      expertId: expert.id,
      answeredBy: expert.id,
      provider: expert.provider,
      model: end.model || expert.model,
      usage: { inputTokens: end.usage.inputTokens, outputTokens: end.usage.outputTokens },
      costUsd: cost.usd,
      priced: cost.priced,
      attempts,
      latencyMs: this.now() - started,
      finishReason: end.finishReason,
    };
  }

  /**
   * The client each attempt goes through, each attempt a step of `trace`
   * (a span per provider request: retries and open-breaker refusals show).
   */
  private tracedClient(trace: TraceStep): ProviderClient {
    if (trace === untraced) return this.guarded;
    const { expert, client } = this.options;
    const tags = { provider: client.provider, model: expert.model, endpoint: client.baseUrl };
    return { ...this.guarded, complete: (request, callOptions) => trace(`${client.provider} completion`, () => this.guarded.complete(request, callOptions), tags) };
  }

  /** The expert's answer, or the typed error of its last attempt; `trace` makes each provider request a span. */
  async ask(input: AskInput, deadline: number, signal?: AbortSignal, trace: TraceStep = untraced): Promise<ExpertAnswer> {
    const started = this.now();
    const counter = { attempts: 1 };
    const { text, ...end } = await completeWithRetry(this.tracedClient(trace), this.request(input), { deadline, ...(signal ? { signal } : {}) }, this.retryCounting(counter));
    const answer = this.answerOf(end, started, counter.attempts);
    return { ...answer, text };
  }

  /**
   * The expert's answer as it is written: text deltas, then one `done` with
   * usage and cost. Failures before the first chunk are retried like `ask`'s
   * (and count against the breaker); once text has come, a failure is thrown
   * to the reader as it is: a second answer would not continue the first.
   */
  async *stream(input: AskInput, deadline: number, signal?: AbortSignal): AsyncGenerator<ExpertStreamEvent> {
    const started = this.now();
    const counter = { attempts: 1 };
    for await (const chunk of streamWithRetry(this.guarded, this.request(input), { deadline, ...(signal ? { signal } : {}) }, this.retryCounting(counter))) {
      if (chunk.type === "delta") {
        yield chunk;
      } else {
        const { type: _type, ...end } = chunk;
        yield { type: "done", answer: this.answerOf(end, started, counter.attempts) };
      }
    }
  }
}
