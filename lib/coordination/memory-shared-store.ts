import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { MISSING_COUNTER, type LimitedCounter, type SharedStore, type TokenTake, type TokenTakeRequest } from "./shared-store";
import { checkTakes, describeTake, TOKEN_EPSILON, tokensAt, type BucketState } from "./token-bucket";

interface Entry {
  value: string;
  expires: number;
}

export interface MemorySharedStoreOptions {
  /**
   * Token buckets kept at most: the memory bound. A bucket expires once full
   * again (it then equals a missing one); with more than this many live, the
   * least recently used is forgotten, which only refills that client early.
   */
  maxBuckets?: number;
}

/** The embedded SharedStore: one process, so every operation is atomic by running to completion. */
export class MemorySharedStore implements SharedStore {
  private readonly values = new Map<string, Entry>();
  private readonly counters = new Map<string, { value: number; expires: number }>();

  private readonly buckets: LRUCache<string, BucketState>;

  constructor(
    private readonly now: () => number = Date.now,
    options: MemorySharedStoreOptions = {},
  ) {
    // The cache's TTL clock is ours too, so a test's fake clock expires buckets as well.
    this.buckets = new LRUCache({ max: options.maxBuckets ?? 100_000, ttlResolution: 0, perf: { now: () => this.now() } });
  }

  private live(key: string): Entry | undefined {
    const e = this.values.get(key);
    if (e && e.expires <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return e;
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.values.set(key, { value, expires: this.now() + ttlMs });
  }

  async tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    if (this.live(key)) return undefined;
    const token = randomUUID();
    this.values.set(key, { value: token, expires: this.now() + ttlMs });
    return token;
  }

  async unlock(key: string, token: string): Promise<void> {
    if (this.live(key)?.value === token) this.values.delete(key);
  }

  private counterExists(key: string): boolean {
    const c = this.counters.get(key);
    return c !== undefined && c.expires > this.now();
  }

  private counter(key: string, initial: number, ttlSec: number): { value: number; expires: number } {
    if (!this.counterExists(key)) this.counters.set(key, { value: initial, expires: this.now() + ttlSec * 1000 });
    return this.counters.get(key)!;
  }

  async addWithinLimits(counters: readonly LimitedCounter[], amount: number): Promise<number> {
    if (counters.some((c) => c.initial === undefined && !this.counterExists(c.key))) return MISSING_COUNTER;
    const current = counters.map((c) => this.counter(c.key, c.initial ?? 0, c.ttlSec));
    const over = counters.findIndex((c, i) => current[i]!.value + amount > c.limit);
    if (over >= 0) return over;
    for (const c of current) c.value += amount;
    return -1;
  }

  async add(keys: readonly string[], amount: number): Promise<void> {
    for (const key of keys) {
      const c = this.counters.get(key);
      if (c) c.value += amount;
    }
  }

  async read(keys: readonly string[]): Promise<number[]> {
    return keys.map((k) => {
      const c = this.counters.get(k);
      return c && c.expires > this.now() ? c.value : 0;
    });
  }

  async takeTokens(takes: readonly TokenTakeRequest[]): Promise<TokenTake[]> {
    const costs = checkTakes(takes);
    const now = this.now();
    const tokens = takes.map((t) => tokensAt(this.buckets.get(t.key), t.bucket, now));
    const allowed = tokens.every((n, i) => n + TOKEN_EPSILON >= costs[i]!);
    return takes.map((t, i) => {
      const cost = costs[i]!;
      if (!allowed) return describeTake(tokens[i]!, cost, t.bucket, tokens[i]! + TOKEN_EPSILON >= cost);
      const left = Math.max(0, tokens[i]! - cost);
      const take = describeTake(left, cost, t.bucket, true);
      this.buckets.set(t.key, { tokens: left, at: now }, { ttl: Math.max(1, take.resetMs) });
      return take;
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.values.clear();
    this.counters.clear();
    this.buckets.clear();
  }
}
