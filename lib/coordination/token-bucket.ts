import { BadRequestError, InternalError } from "../errors";
import type { TokenBucket, TokenTake, TokenTakeRequest } from "./shared-store";

/**
 * The token-bucket arithmetic both SharedStores follow (Redis mirrors it in
 * Lua, see redis-shared-store.ts): a bucket holds up to `capacity` tokens and
 * regains `refillPerSecond` continuously; a take of `cost` passes when the
 * bucket holds at least `cost`.
 */

/** Floating-point slack: 0.1 s × 10/s may come out as 0.999…9 tokens, which must still admit a take of 1. */
export const TOKEN_EPSILON = 1e-9;

/** What a store keeps per bucket: tokens at a moment (ms on the store's clock). */
export interface BucketState {
  tokens: number;
  at: number;
}

/** Tokens in the bucket at `now`: a missing bucket is full; a clock that went back refills nothing. */
export function tokensAt(state: BucketState | undefined, bucket: TokenBucket, now: number): number {
  if (!state) return bucket.capacity;
  const elapsedMs = Math.max(0, now - state.at);
  return Math.min(bucket.capacity, state.tokens + (elapsedMs * bucket.refillPerSecond) / 1000);
}

/** Below a millisecond's millionth, a wait is float noise: 1.0000000000000009 ms rounds up to 1, not 2. */
export const MS_EPSILON = 1e-6;

/** Milliseconds until a bucket holding `tokens` holds `wanted`, rounded up; 0 when it already does. */
export function msUntil(tokens: number, wanted: number, bucket: TokenBucket): number {
  const missing = wanted - tokens;
  return missing <= TOKEN_EPSILON ? 0 : Math.ceil((missing * 1000) / bucket.refillPerSecond - MS_EPSILON);
}

/** One bucket's answer, from the tokens it holds after the call. */
export function describeTake(tokens: number, cost: number, bucket: TokenBucket, allowed: boolean): TokenTake {
  return {
    allowed,
    limit: bucket.capacity,
    remaining: Math.floor(tokens + TOKEN_EPSILON),
    retryAfterMs: allowed ? 0 : msUntil(tokens, cost, bucket),
    resetMs: msUntil(tokens, bucket.capacity, bucket),
  };
}

const positiveNumber = (n: number) => typeof n === "number" && Number.isFinite(n) && n > 0;

/**
 * Checks a call before any store work. A cost above the capacity can never
 * pass, whatever the wait: that is the caller's request at fault (400), not a
 * rate limit (429 would invite retries forever). Bad bucket numbers or a key
 * taken twice in one call are bugs in CORE (the second take of a key would
 * overwrite the first in the store).
 */
export function checkTakes(takes: readonly TokenTakeRequest[]): number[] {
  const seen = new Set<string>();
  return takes.map(({ key, bucket, cost = 1 }) => {
    if (!positiveNumber(bucket.capacity) || !positiveNumber(bucket.refillPerSecond)) {
      throw new InternalError(`Token bucket ${key} needs a positive capacity and refill rate`, { data: { key, ...bucket } });
    }
    if (!positiveNumber(cost)) throw new InternalError(`A take from token bucket ${key} needs a positive cost`, { data: { key, cost } });
    if (seen.has(key)) throw new InternalError(`Token bucket ${key} is taken from twice in one call`, { data: { key } });
    seen.add(key);
    if (cost > bucket.capacity) {
      throw new BadRequestError(`This request costs ${cost} tokens, more than the limit of ${bucket.capacity} ever allows`, {
        data: { cost, capacity: bucket.capacity },
      });
    }
    return cost;
  });
}
