import { backoffDelay, type BackoffPolicy } from "../resilience/backoff";
import type { CallOptions, Completion, CompletionChunk, CompletionRequest, ProviderClient } from "./types";

export interface ProviderRetryEvent {
  /** The attempt that failed (1 = the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface ProviderRetryOptions {
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number;
  /** Default: the expert policy's, 500 ms doubling to 8 s. */
  backoff?: BackoffPolicy;
  /** Each attempt's own bound in ms; the deadline bounds them all. */
  attemptTimeoutMs?: number;
  /** A Retry-After longer than this is not waited for: the error goes back at once (default 60 s). */
  maxRetryAfterMs?: number;
  /** Called before each wait: the place to log or count a retry. */
  onRetry?: (event: ProviderRetryEvent) => void;
  random?: () => number;
}

export const DEFAULT_PROVIDER_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 8_000, factor: 2 };
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** Works on rebuilt plain errors too, not only on CoreError instances. */
function isRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

function retryAfterMs(error: unknown): number | undefined {
  const sec = (error as { data?: { retryAfterSec?: unknown } } | undefined)?.data?.retryAfterSec;
  return typeof sec === "number" && Number.isFinite(sec) && sec >= 0 ? Math.ceil(sec * 1000) : undefined;
}

/**
 * How long to wait before attempt `attempt + 1`, or `undefined` to give up
 * with `error`: it is not retryable, attempts are used up, the caller left, or
 * the wait would end past the deadline. A Retry-After is a floor: the wait is
 * never shorter than what the provider asked for.
 */
function delayBeforeRetry(error: unknown, attempt: number, options: CallOptions, retry: ProviderRetryOptions): number | undefined {
  if (!isRetryable(error) || attempt >= (retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) || options.signal?.aborted) return undefined;
  let delay = backoffDelay(attempt, retry.backoff ?? DEFAULT_PROVIDER_BACKOFF, retry.random);
  const asked = retryAfterMs(error);
  if (asked !== undefined) {
    if (asked > (retry.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS)) return undefined;
    // One millisecond more: a timer of N ms can end N - 1 ms later by the wall clock (whole
    // milliseconds, read at both ends), and the provider must not see us before its time.
    delay = Math.max(delay, asked + 1);
  }
  // Waiting only to find the deadline gone helps nobody: the caller gets the real cause now.
  if (options.deadline !== undefined && Date.now() + delay >= options.deadline) return undefined;
  return delay;
}

/** Resolves after `ms`; false when the caller aborted first. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** After attempt `attempt` failed with `error`: waits before the next one, or rethrows `error` when there is none. */
async function waitOrThrow(error: unknown, attempt: number, options: CallOptions, retry: ProviderRetryOptions): Promise<void> {
  const delayMs = delayBeforeRetry(error, attempt, options, retry);
  if (delayMs === undefined) throw error;
  retry.onRetry?.({ attempt, delayMs, error });
  if (!(await pause(delayMs, options.signal))) throw error;
}

function attemptOptions(options: CallOptions, retry: ProviderRetryOptions): CallOptions {
  return retry.attemptTimeoutMs === undefined ? options : { ...options, timeoutMs: retry.attemptTimeoutMs };
}

/** `client.complete`, retried on retryable errors with jittered backoff, within the deadline. */
export async function completeWithRetry(
  client: ProviderClient,
  request: CompletionRequest,
  options: CallOptions = {},
  retry: ProviderRetryOptions = {},
): Promise<Completion> {
  const perAttempt = attemptOptions(options, retry);
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.complete(request, perAttempt);
    } catch (error) {
      await waitOrThrow(error, attempt, options, retry);
    }
  }
}

/**
 * `client.stream`, retried like `completeWithRetry` but only until the first
 * chunk arrived: after that the caller has seen output, and a second answer
 * would not continue the first.
 */
export async function* streamWithRetry(
  client: ProviderClient,
  request: CompletionRequest,
  options: CallOptions = {},
  retry: ProviderRetryOptions = {},
): AsyncGenerator<CompletionChunk> {
  const perAttempt = attemptOptions(options, retry);
  for (let attempt = 1; ; attempt++) {
    const iterator = client.stream(request, perAttempt)[Symbol.asyncIterator]();
    let first: IteratorResult<CompletionChunk>;
    try {
      first = await iterator.next();
    } catch (error) {
      await waitOrThrow(error, attempt, options, retry);
      continue;
    }
    try {
      if (first.done) return;
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      return;
    } finally {
      // The consumer may stop early: the stream below must close its connection.
      await iterator.return?.();
    }
  }
}

/** The same client, with every call retried as above: what an expert actor holds. */
export function withRetry(client: ProviderClient, retry: ProviderRetryOptions = {}): ProviderClient {
  return {
    provider: client.provider,
    protocol: client.protocol,
    baseUrl: client.baseUrl,
    complete: (request, options) => completeWithRetry(client, request, options, retry),
    stream: (request, options) => streamWithRetry(client, request, options, retry),
  };
}
