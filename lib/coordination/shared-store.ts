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
   * its `initial` value. Counters expire `ttlSec` after they are made.
   */
  addWithinLimits(counters: readonly LimitedCounter[], amount: number): Promise<number>;
  /** Adds `amount` (negative to give back) to each counter, whatever its limit. */
  add(keys: readonly string[], amount: number): Promise<void>;
  /** Current counter values (0 for a missing one). */
  read(keys: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
}

export interface LimitedCounter {
  key: string;
  limit: number;
  ttlSec: number;
  /** What a counter that does not exist yet starts from (e.g. what the store recorded). */
  initial: number;
}
