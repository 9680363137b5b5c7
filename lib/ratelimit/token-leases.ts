import type { SharedStore, TokenTake, TokenTakeRequest } from "../coordination/shared-store";
import { describeTake } from "../coordination/token-bucket";
import { setBounded } from "../bounded-map";

/**
 * Token buckets in a remote store, taken a few tokens at a time: when one
 * principal sends many requests through this node, a take from the store
 * takes 1 + n tokens (all or nothing, like any take: never more than the
 * buckets hold) and this node spends the n others itself on that principal's
 * next requests, without a round trip each.
 *
 * What still holds, across any number of nodes:
 * - Every admitted request spent a token that had left the shared bucket.
 * - A leased token is spent within `lifetimeMs` of leaving the bucket, or
 *   never: over any interval of w seconds, at most
 *   capacity + refillPerSecond × (w + lifetimeMs / 1000) requests pass, i.e.
 *   at most refillPerSecond × lifetimeMs / 1000 more than an exact bucket
 *   (0.05 tokens at 1/s with the default 50 ms).
 * - A refusal always comes from the store (a take of exactly 1), so its
 *   Retry-After is the shared bucket's.
 * - Unspent leased tokens are lost when the lease expires: a principal may be
 *   refused early by at most what the nodes hold, each at most
 *   min(maxTokens, an eighth of what the bucket held, its requests here in
 *   the last `lifetimeMs` or waiting now). A lease is taken only for a
 *   principal that sent requests here in the last window and for buckets
 *   holding 8 tokens or more; otherwise every take is exact.
 *
 * One take with a lease per principal (per set of buckets) is in flight at a
 * time; requests arriving meanwhile wait for it and spend its tokens (after
 * three such waits without a token, a request takes its own from the store).
 */

export interface TokenLeaseOptions {
  /** How long leased tokens may be spent after they were taken; 50 ms. */
  lifetimeMs?: number;
  /** The most tokens one lease holds of each bucket; 1024. */
  maxTokens?: number;
  /** A monotonic clock in ms (tests move it). */
  now?: () => number;
}

export const DEFAULT_LEASE_LIFETIME_MS = 50;
// A take from Redis is rare code, run cold: ~180 µs of the node's CPU each in benchmarks/gateway's profiles (~0.7 µs a
// request with leases of 256). A principal sending 20,000 requests a second or more through one node takes one per 1,024.
// (Side by side, 256 → 1,024: +6 % at 16 connections, +9 % at 64.)
export const DEFAULT_LEASE_TOKENS = 1024;
/** A lease takes at most this share of what a bucket holds, so that near its limit a principal's buckets are taken exactly. */
const LEASE_SHARE = 1 / 8;
/** How many leases a request waits for before it takes its token alone. */
const MAX_WAITS = 3;
/** Principals (sets of buckets) whose lease and demand this node remembers, the oldest forgotten first; forgetting one only costs its unspent tokens. */
const LEASES_KEPT = 10_000;

interface LeaseState {
  /** Tokens of each bucket still to spend here, until `expiresAt`. */
  left: number;
  expiresAt: number;
  /** Whole tokens each bucket held in the store just after the lease was taken (for the RateLimit headers). */
  shared: number[];
  /** The fewest whole tokens any of the buckets held at the last take from the store. */
  storeRemaining: number;
  /** Settles when the take with a lease on its way to the store has answered. */
  pending: Promise<void> | undefined;
  /** Requests here waiting for that take. */
  waiting: number;
  /** Requests here in the current window of `lifetimeMs` and in the one before: the demand a lease is sized by. */
  windowStart: number;
  count: number;
  previous: number;
}

/** Takes of 1 token each are leased; others go to the store as they are. */
const leasable = (takes: readonly TokenTakeRequest[]) => takes.length > 0 && takes.every((t) => t.cost === undefined || t.cost === 1);
// Keys are made of percent-encoded parts (rate-limiter.ts): no space in any.
const leaseKey = (takes: readonly TokenTakeRequest[]) => (takes.length === 1 ? takes[0]!.key : takes.map((t) => t.key).join(" "));

export class TokenLeases {
  private readonly lifetimeMs: number;
  private readonly maxTokens: number;
  private readonly now: () => number;
  // A Map rather than an LRU cache: a lookup on every request, where lru-cache's bookkeeping cost more than the lookup.
  private readonly leases = new Map<string, LeaseState>();

  constructor(
    private readonly store: SharedStore,
    options: TokenLeaseOptions = {},
  ) {
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_LEASE_LIFETIME_MS;
    this.maxTokens = options.maxTokens ?? DEFAULT_LEASE_TOKENS;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * This request's tokens from a lease this node holds for these buckets, at once (no promise: most
   * requests of a busy principal end here); undefined when none is left to spend: then `takeTokens`.
   */
  takeLeased(takes: readonly TokenTakeRequest[]): TokenTake[] | undefined {
    if (!leasable(takes)) return undefined;
    const lease = this.leases.get(leaseKey(takes));
    if (!lease || lease.left <= 0) return undefined;
    const now = this.now();
    if (now >= lease.expiresAt) return undefined;
    this.countRequest(lease, now);
    lease.left--;
    return takes.map((t, i) => describeTake(lease.shared[i]! + lease.left, 1, t.bucket, true));
  }

  /** As `SharedStore.takeTokens`, for takes of 1 token each (others go to the store as they are). */
  async takeTokens(takes: readonly TokenTakeRequest[]): Promise<TokenTake[]> {
    if (!leasable(takes)) return this.store.takeTokens(takes);
    const key = leaseKey(takes);
    let lease = this.leases.get(key);
    if (!lease) {
      lease = { left: 0, expiresAt: 0, shared: [], storeRemaining: 0, pending: undefined, waiting: 0, windowStart: this.now(), count: 0, previous: 0 };
      setBounded(this.leases, key, lease, LEASES_KEPT);
    }
    this.countRequest(lease, this.now());
    for (let waits = 0; ; waits++) {
      const now = this.now();
      if (lease.left > 0 && now < lease.expiresAt) {
        lease.left--;
        const state = lease;
        return takes.map((t, i) => describeTake(state.shared[i]! + state.left, 1, t.bucket, true));
      }
      lease.left = 0;
      // A lease is on its way: its tokens are likely this request's too (a round trip it would wait for anyway).
      if (lease.pending) {
        if (waits >= MAX_WAITS) break;
        lease.waiting++;
        try {
          await lease.pending;
        } finally {
          lease.waiting--;
        }
        continue;
      }
      const size = this.leaseSize(lease, takes);
      if (size === 0) break;
      const leased = await this.takeLease(lease, takes, size, now);
      if (leased) return leased;
      // Other nodes drained the buckets meanwhile: take exactly, and let the store refuse if it must.
      break;
    }
    const exact = await this.store.takeTokens(takes);
    lease.storeRemaining = Math.min(...exact.map((t) => t.remaining));
    return exact;
  }

  /** One take of 1 + `size` from the store: this request's token and the lease's; undefined when the buckets do not hold that many. */
  private async takeLease(lease: LeaseState, takes: readonly TokenTakeRequest[], size: number, now: number): Promise<TokenTake[] | undefined> {
    let settled!: () => void;
    lease.pending = new Promise<void>((resolve) => (settled = resolve));
    try {
      const granted = await this.store.takeTokens(takes.map((t) => ({ key: t.key, bucket: t.bucket, cost: 1 + size })));
      if (!granted.every((g) => g.allowed)) return undefined;
      // Timed from before the call: the tokens left the bucket no earlier than that.
      lease.left = size;
      lease.expiresAt = now + this.lifetimeMs;
      lease.shared = granted.map((g) => g.remaining);
      lease.storeRemaining = Math.min(...lease.shared);
      return takes.map((t, i) => describeTake(granted[i]!.remaining + size, 1, t.bucket, true));
    } finally {
      lease.pending = undefined;
      settled();
    }
  }

  private countRequest(lease: LeaseState, now: number): void {
    const elapsed = now - lease.windowStart;
    if (elapsed >= this.lifetimeMs) {
      lease.previous = elapsed >= 2 * this.lifetimeMs ? 0 : lease.count;
      lease.count = 0;
      lease.windowStart = now;
    }
    lease.count++;
  }

  /**
   * What the next window is likely to spend here: as many as the last window's
   * requests, or as the requests waiting right now when more; within an eighth
   * of what the buckets hold.
   */
  private leaseSize(lease: LeaseState, takes: readonly TokenTakeRequest[]): number {
    const demand = Math.max(lease.previous, lease.waiting);
    let size = Math.min(this.maxTokens, demand, Math.floor(lease.storeRemaining * LEASE_SHARE));
    // A take of 1 + size must fit every bucket (a larger cost is refused as a bad request).
    for (const t of takes) size = Math.min(size, Math.floor(t.bucket.capacity) - 1);
    return Math.max(0, size);
  }
}
