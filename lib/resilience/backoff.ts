/**
 * Exponential backoff, capped, with "equal jitter": half the delay is fixed so
 * retries never bunch at zero, half is random so many nodes restarted at once
 * do not retry in lock step.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of any single delay, in ms. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2 };

/** Reconnecting to Redis: soon after a blip, at most every 10 s during an outage. */
export const REDIS_RECONNECT: BackoffPolicy = { initialMs: 200, maxMs: 10_000, factor: 2 };

/** Delay before retry number `attempt` (1 = first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  policy?: BackoffPolicy;
  /** Stop retrying (and reject with the last error) when aborted. */
  signal?: AbortSignal;
  /** Called before each wait; the place to log "retrying in …". */
  onRetry?: (event: RetryEvent) => void;
  /** Decides whether an error is worth another attempt; default: every error. */
  shouldRetry?: (error: unknown) => boolean;
  random?: () => number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, waiting a backoff delay between failures. */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_BACKOFF;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted || (options.shouldRetry && !options.shouldRetry(error))) throw error;
      const delayMs = backoffDelay(attempt, policy, options.random);
      options.onRetry?.({ attempt, delayMs, error });
      try {
        await sleep(delayMs, options.signal);
      } catch {
        throw error;
      }
    }
  }
}
