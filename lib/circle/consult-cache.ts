import { LRUCache } from "lru-cache";
import type { SharedStore } from "../coordination/shared-store";
import { BudgetExceededError, CoreError, DeadlineExceededError, fromPlainError, isPlainCoreError, UnavailableError } from "../errors";
import type { Logger } from "../logger";
import type { Consultation } from "./consultation";

export interface ConsultCacheOptions {
  /** Shared by every node (Redis), or this process's own (embedded). */
  shared: SharedStore;
  /** How long an answer is served from the cache. */
  ttlMs: number;
  /** Answers kept in this node's memory in front of the shared store. */
  memoryEntries?: number;
  /** How long a failed consult is shared with those waiting for it (they get the same error, not a rerun each). */
  failureTtlMs?: number;
  /** How often a node waiting for another node's identical consult looks for its answer. */
  pollMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface CacheResult {
  consultation: Consultation;
  /** True when the experts were not asked for this caller: it came from the cache or from an identical consult in flight. */
  cached: boolean;
}

type Entry = { ok: true; consultation: Consultation } | { ok: false; error: unknown };

const valueKey = (key: string) => `consult:${key}`;

/** Failures that belong to the caller, not to the question (its budget): never passed to others. */
function isCallersOwn(err: unknown): boolean {
  return err instanceof BudgetExceededError;
}
const lockKey = (key: string) => `consult:${key}:lock`;

/**
 * Identical consults answered once: a memory LRU on each node in front of the
 * shared store, and single flight both within a node (one promise per key)
 * and across nodes (a lock in the shared store; the others wait for the
 * holder's answer). When the shared store cannot answer, the consult runs
 * without it: the cache is an optimisation, never a reason to fail.
 */
export class ConsultCache {
  private readonly memory: LRUCache<string, Consultation>;
  private readonly inFlight = new Map<string, Promise<CacheResult>>();
  private readonly now: () => number;
  private sharedDown = false;

  constructor(private readonly options: ConsultCacheOptions) {
    this.now = options.now ?? Date.now;
    this.memory = new LRUCache({ max: options.memoryEntries ?? 1_000, ttl: options.ttlMs, ttlAutopurge: false });
  }

  /** The answer for `key`: cached, joined to an identical consult in flight, or computed by `compute` (which then fills the cache). */
  async run(key: string, deadline: number, compute: () => Promise<Consultation>): Promise<CacheResult> {
    const hit = this.memory.get(key);
    if (hit) return { consultation: hit, cached: true };
    const joined = this.inFlight.get(key);
    if (joined) {
      try {
        return { consultation: (await joined).consultation, cached: true };
      } catch (err) {
        // The leader's own refusal (its budget) is not an answer to this caller: ask for itself.
        if (!isCallersOwn(err)) throw err;
      }
    }
    const leading = this.lead(key, deadline, compute);
    this.inFlight.set(key, leading);
    try {
      return await leading;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Forgets every answer this node holds (the shared entries expire by TTL). */
  clearMemory(): void {
    this.memory.clear();
  }

  private async lead(key: string, deadline: number, compute: () => Promise<Consultation>): Promise<CacheResult> {
    for (;;) {
      const entry = await this.sharedGet(key);
      if (entry?.ok) {
        this.memory.set(key, entry.consultation);
        return { consultation: entry.consultation, cached: true };
      }
      if (entry && !entry.ok) throw entry.error;
      const token = await this.sharedLock(key, deadline);
      if (token !== undefined) return { consultation: await this.computeAndShare(key, token, compute), cached: false };
      // Another node runs this consult: wait for its answer, within our own deadline.
      if (this.now() + (this.options.pollMs ?? 25) >= deadline) {
        throw new DeadlineExceededError("An identical consult was still running on another node when this one's deadline came", { data: { key } });
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 25));
    }
  }

  private async computeAndShare(key: string, token: string | null, compute: () => Promise<Consultation>): Promise<Consultation> {
    try {
      const consultation = await compute();
      this.memory.set(key, consultation);
      await this.sharedSet(key, { ok: true, consultation }, this.options.ttlMs);
      return consultation;
    } catch (err) {
      if (err instanceof CoreError && !isCallersOwn(err)) await this.sharedSet(key, { ok: false, error: err.toJSON() }, this.options.failureTtlMs ?? 2_000);
      throw err;
    } finally {
      if (token) await this.options.shared.unlock(lockKey(key), token).catch(() => undefined);
    }
  }

  private async sharedGet(key: string): Promise<Entry | undefined> {
    const raw = await this.guard(() => this.options.shared.get(valueKey(key)));
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(raw) as { ok: boolean; consultation?: Consultation; error?: unknown };
      if (parsed.ok && parsed.consultation) return { ok: true, consultation: parsed.consultation };
      if (!parsed.ok && isPlainCoreError(parsed.error)) return { ok: false, error: fromPlainError(parsed.error) };
    } catch {
      // An entry this build cannot read is a miss.
    }
    return undefined;
  }

  /** The lock's token; `null` when the shared store is down (compute alone, share nothing); undefined when another node holds it. */
  private async sharedLock(key: string, deadline: number): Promise<string | null | undefined> {
    // The lock outlives the consult's deadline a little, so a crashed holder frees it soon after.
    const ttl = Math.max(1_000, deadline - this.now() + 1_000);
    const token = await this.guard(() => this.options.shared.tryLock(lockKey(key), ttl));
    return this.sharedDown ? null : token;
  }

  private async sharedSet(key: string, entry: { ok: true; consultation: Consultation } | { ok: false; error: unknown }, ttlMs: number): Promise<void> {
    await this.guard(() => this.options.shared.set(valueKey(key), JSON.stringify(entry), ttlMs));
  }

  private async guard<T>(op: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await op();
      if (this.sharedDown) this.options.logger?.info("The consult cache's shared store answers again");
      this.sharedDown = false;
      return value;
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      if (!this.sharedDown) this.options.logger?.warn(`The consult cache works on this node alone while its shared store is down: ${err.message}`);
      this.sharedDown = true;
      return undefined;
    }
  }
}
