/**
 * State the nodes of a cluster share: cached values with a TTL, short locks,
 * and counters that only grow within a limit. Redis in a cluster (every
 * operation atomic across nodes), memory when embedded (one process).
 */
export interface SharedStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Takes the lock when free: resolves its token, or undefined when someone holds it. */
  tryLock(key: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lock if `token` still holds it. */
  unlock(key: string, token: string): Promise<void>;
  /**
   * Adds `amount` to every counter at once, only if none would pass its limit
   * afterwards: all or nothing. Resolves -1 when added, else the index of the
   * first counter that would have passed its limit. A missing counter starts at
   * its `initial` value (without one: nothing changes, MISSING_COUNTER).
   * Counters expire `ttlSec` after they are made.
   */
  addWithinLimits(counters: readonly LimitedCounter[], amount: number): Promise<number>;
  /** Adds `amount` (negative to give back) to each counter, whatever its limit. */
  add(keys: readonly string[], amount: number): Promise<void>;
  /** Current counter values (0 for a missing one). */
  read(keys: readonly string[]): Promise<number[]>;
  /**
   * Takes tokens from every bucket at once, only if each holds enough: all or
   * nothing, so a refused request costs no bucket anything. One result per
   * take, in order. A bucket never seen (or idle long enough to be full again)
   * starts full. Time is the store's own clock (Redis server time in a
   * cluster), so nodes with skewed clocks share one bucket correctly.
   *
   * Throws BadRequestError when a cost exceeds its bucket's capacity (no wait
   * could ever admit it, so a 429 with Retry-After would be a lie), and
   * InternalError for invalid bucket numbers or one key taken twice in a call.
   */
  takeTokens(takes: readonly TokenTakeRequest[]): Promise<TokenTake[]>;
  /** Resolves when the store answers (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LimitedCounter {
  key: string;
  limit: number;
  ttlSec: number;
  /**
   * What a counter that does not exist yet starts from (e.g. what the store
   * recorded). Absent: a missing counter makes the call change nothing and
   * answer MISSING_COUNTER, so that the caller works the starting value out
   * only when it is needed, and calls again with it.
   */
  initial?: number;
}

/** What `addWithinLimits` answers when a counter without `initial` does not exist. */
export const MISSING_COUNTER = -2;

/** A token bucket's shape: holds up to `capacity` tokens, regains `refillPerSecond` (fractions count). */
export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
}

export interface TokenTakeRequest {
  key: string;
  bucket: TokenBucket;
  /** Tokens this take needs; 1 when omitted. Positive, fractions allowed, at most the capacity. */
  cost?: number | undefined;
}

/** One bucket's answer to a take. */
export interface TokenTake {
  /** This bucket held enough. The call as a whole took tokens only if every bucket did. */
  allowed: boolean;
  /** The bucket's capacity. */
  limit: number;
  /** Whole tokens left after the call (nothing is taken when the call is refused). */
  remaining: number;
  /** 0 when this bucket held enough; else milliseconds until it will (rounded up). */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again (rounded up). */
  resetMs: number;
}
