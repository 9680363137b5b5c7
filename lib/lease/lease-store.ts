/**
 * A named lease with a time to live: whoever holds it runs the singleton.
 * Holding it means renewing it before the TTL runs out; a holder that dies
 * stops renewing, the lease expires, and another node takes it.
 */
export interface LeaseStore {
  /** Takes the lease if it is free (or already ours); true when we hold it now. */
  acquire(key: string, holder: string): Promise<boolean>;
  /** Extends our lease; false when it is no longer ours (expired and taken). */
  renew(key: string, holder: string): Promise<boolean>;
  /** Gives the lease up if we hold it, so another node need not wait for the TTL. */
  release(key: string, holder: string): Promise<void>;
  /** Who holds it now, if anyone. */
  holder(key: string): Promise<string | undefined>;
  readonly ttlMs: number;
  close(): Promise<void>;
}

/** One process, no cluster: the lease is always ours to take. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly held = new Map<string, { holder: string; until: number }>();

  constructor(readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  async acquire(key: string, holder: string): Promise<boolean> {
    const cur = this.held.get(key);
    if (cur && cur.holder !== holder && cur.until > this.now()) return false;
    this.held.set(key, { holder, until: this.now() + this.ttlMs });
    return true;
  }

  async renew(key: string, holder: string): Promise<boolean> {
    const cur = this.held.get(key);
    if (!cur || cur.holder !== holder || cur.until <= this.now()) return false;
    cur.until = this.now() + this.ttlMs;
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.held.get(key)?.holder === holder) this.held.delete(key);
  }

  async holder(key: string): Promise<string | undefined> {
    const cur = this.held.get(key);
    return cur && cur.until > this.now() ? cur.holder : undefined;
  }

  async close(): Promise<void> {}
}
