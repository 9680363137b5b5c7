import { randomUUID } from "node:crypto";
import type { LimitedCounter, SharedStore } from "./shared-store";

interface Entry {
  value: string;
  expires: number;
}

/** The embedded SharedStore: one process, so every operation is atomic by running to completion. */
export class MemorySharedStore implements SharedStore {
  private readonly values = new Map<string, Entry>();
  private readonly counters = new Map<string, { value: number; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

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

  private counter(key: string, initial: number, ttlSec: number): { value: number; expires: number } {
    let c = this.counters.get(key);
    if (!c || c.expires <= this.now()) {
      c = { value: initial, expires: this.now() + ttlSec * 1000 };
      this.counters.set(key, c);
    }
    return c;
  }

  async addWithinLimits(counters: readonly LimitedCounter[], amount: number): Promise<number> {
    const current = counters.map((c) => this.counter(c.key, c.initial, c.ttlSec));
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

  async close(): Promise<void> {
    this.values.clear();
    this.counters.clear();
  }
}
