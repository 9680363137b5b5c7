import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import type { SharedStore, TokenTake, TokenTakeRequest } from "../../../../lib/coordination/shared-store";
import { ConfigError, RateLimitedError } from "../../../../lib/errors";
import { RateLimiter, type RateLimitRequest, type RateLimitsConfig } from "../../../../lib/ratelimit/rate-limiter";

function limiter(config: RateLimitsConfig) {
  const clock = { now: 1_000_000 };
  const store = new MemorySharedStore(() => clock.now);
  const calls: TokenTakeRequest[][] = [];
  const counting: SharedStore = Object.assign(Object.create(store) as SharedStore, {
    takeTokens: (takes: readonly TokenTakeRequest[]): Promise<TokenTake[]> => {
      calls.push([...takes]);
      return store.takeTokens(takes);
    },
  });
  return { clock, calls, limiter: new RateLimiter(config, counting) };
}

const consult = (over: Partial<RateLimitRequest> = {}): RateLimitRequest => ({
  principalId: "user-1",
  clientAddress: "203.0.113.7",
  method: "POST",
  path: "/api/v1/consult",
  ...over,
});

describe("RateLimiter", () => {
  it("does nothing, without a store round trip or headers, when no limit applies", async () => {
    const none = limiter({ routes: {} });
    expect(none.limiter.enabled).toBe(false);
    expect(await none.limiter.check(consult())).toEqual({ allowed: true, headers: {} });
    const other = limiter({ routes: { "GET /api/v1/experts": { capacity: 1, refillPerSecond: 1 } } });
    expect(other.limiter.enabled).toBe(true);
    expect(await other.limiter.check(consult())).toEqual({ allowed: true, headers: {} });
    expect([...none.calls, ...other.calls]).toEqual([]);
  });

  it("answers with RateLimit headers, and on refusal a 429 with Retry-After rounded up to whole seconds", async () => {
    const { limiter: l, clock } = limiter({ default: { capacity: 2, refillPerSecond: 0.4 }, routes: {} });
    expect(await l.check(consult())).toEqual({
      allowed: true,
      headers: { "RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "3" },
    });
    await l.check(consult());
    clock.now += 100;
    const refused = await l.check(consult());
    // 2.4 s to the next token (2.5 s a token, 0.1 s already refilled): 3 s, never 2.
    expect(refused).toMatchObject({
      allowed: false,
      retryAfterSec: 3,
      headers: { "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "5", "Retry-After": "3" },
    });
    if (refused.allowed) throw new Error("expected a refusal");
    expect(refused.error).toBeInstanceOf(RateLimitedError);
    expect(refused.error).toMatchObject({ code: "RATE_LIMITED", status: 429, retryable: true, data: { retryAfterSec: 3 } });
  });

  it("never sends Retry-After: 0, even when the next token is a millisecond away", async () => {
    const { limiter: l, clock } = limiter({ default: { capacity: 1, refillPerSecond: 1 }, routes: {} });
    await l.check(consult());
    clock.now += 999;
    expect(await l.check(consult())).toMatchObject({ allowed: false, retryAfterSec: 1, headers: { "Retry-After": "1" } });
  });

  it("keeps one bucket per principal, and per address for anonymous requests", async () => {
    const { limiter: l } = limiter({ default: { capacity: 1, refillPerSecond: 0.001 }, routes: {} });
    expect((await l.check(consult())).allowed).toBe(true);
    expect((await l.check(consult())).allowed).toBe(false);
    // Same address, another principal; then anonymous from that address; then anonymous from elsewhere.
    expect((await l.check(consult({ principalId: "user-2" }))).allowed).toBe(true);
    expect((await l.check(consult({ principalId: undefined }))).allowed).toBe(true);
    expect((await l.check(consult({ principalId: undefined }))).allowed).toBe(false);
    expect((await l.check(consult({ principalId: undefined, clientAddress: "2001:db8::1" }))).allowed).toBe(true);
  });

  it("names buckets so that no principal id can pass for another's bucket", () => {
    const { limiter: l } = limiter({ default: { capacity: 1, refillPerSecond: 1 }, routes: { "/a/*": { capacity: 1, refillPerSecond: 1 } } });
    const keys = (r: Partial<RateLimitRequest>) => l.bucketsFor(consult({ path: "/a/b", ...r })).map((b) => b.key);
    const all = [
      ...keys({ principalId: "x:y" }),
      ...keys({ principalId: "x" }),
      ...keys({ principalId: "addr:x" }),
      ...keys({ principalId: undefined, clientAddress: "x" }),
      ...keys({ principalId: "r:* %2Fa%2F*:id:x" }),
      ...keys({ principalId: undefined, clientAddress: "::1" }),
    ];
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((k) => k.startsWith("rl:"))).toBe(true);
    expect(keys({ principalId: "x:y" })).toEqual(["rl:p:id:x%3Ay", "rl:r:*%20%2Fa%2F*:id:x%3Ay"]);
  });

  it("builds a principal's buckets for a route once, and keeps principals, addresses, methods and routes apart", () => {
    const { limiter: l } = limiter({ default: { capacity: 1, refillPerSecond: 1 }, routes: { "POST /a/*": { capacity: 1, refillPerSecond: 1 } } });
    const first = l.bucketsFor(consult({ method: "POST", path: "/a/b" }));
    expect(l.bucketsFor(consult({ method: "POST", path: "/a/b" }))).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.map((b) => b.key)).toEqual(["rl:p:id:user-1", "rl:r:POST%20%2Fa%2F*:id:user-1"]);
    expect(l.bucketsFor(consult({ method: "GET", path: "/a/b" })).map((b) => b.key)).toEqual(["rl:p:id:user-1"]);
    expect(l.bucketsFor(consult({ method: "POST", path: "/c" })).map((b) => b.key)).toEqual(["rl:p:id:user-1"]);
    expect(l.bucketsFor(consult({ principalId: "user-2", method: "POST", path: "/a/b" }))[0]!.key).toBe("rl:p:id:user-2");
    // An address that reads like a principal id is still an address.
    expect(l.bucketsFor(consult({ principalId: undefined, clientAddress: "user-1", method: "POST", path: "/a/b" }))[0]!.key).toBe("rl:p:addr:user-1");
    expect(l.bucketsFor(consult({ method: "POST", path: "/a/b" }))).toBe(first);
  });

  it("draws on the principal's bucket and every matching route's, all or nothing", async () => {
    const { limiter: l, calls } = limiter({
      default: { capacity: 5, refillPerSecond: 0.001 },
      routes: {
        "POST /api/v1/consult": { capacity: 2, refillPerSecond: 0.001 },
        "/api/v1/*": { capacity: 3, refillPerSecond: 0.001 },
        "GET /api/v1/experts": { capacity: 1, refillPerSecond: 0.001 },
      },
    });
    const first = await l.check(consult());
    expect(calls[0]!.map((t) => t.bucket.capacity)).toEqual([5, 2, 3]);
    // The headers describe the bucket closest to its limit: the route's, 1 left of 2.
    expect(first.headers).toMatchObject({ "RateLimit-Limit": "2", "RateLimit-Remaining": "1" });
    await l.check(consult());
    const refused = await l.check(consult());
    expect(refused).toMatchObject({ allowed: false, headers: { "RateLimit-Limit": "2", "RateLimit-Remaining": "0" } });
    // The refusal took nothing from the other buckets: /api/v1/* still has 1 of 3, the principal 3 of 5.
    const experts = await l.check(consult({ method: "GET", path: "/api/v1/experts" }));
    expect(experts).toMatchObject({ allowed: true, headers: { "RateLimit-Remaining": "0" } });
    expect(await l.check(consult({ method: "GET", path: "/health/live" }))).toMatchObject({
      allowed: true,
      headers: { "RateLimit-Limit": "5", "RateLimit-Remaining": "1" },
    });
  });

  it("refuses route keys it cannot read with a ConfigError naming them", () => {
    expect(() => new RateLimiter({ routes: { "FETCH /x": { capacity: 1, refillPerSecond: 1 } } }, new MemorySharedStore())).toThrow(ConfigError);
    try {
      new RateLimiter({ routes: { "/x": { capacity: 1, refillPerSecond: 1 }, "* /x/": { capacity: 1, refillPerSecond: 1 } } }, new MemorySharedStore());
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([expect.objectContaining({ field: "rateLimits.routes.* /x/", received: "* /x/" })]);
    }
    expect.assertions(2);
  });

  it("decides at once, with no promise, when no limit applies or this node holds leased tokens; otherwise asks the store", async () => {
    const clock = { now: 1_000_000 };
    const store = new MemorySharedStore(() => clock.now);
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const l = new RateLimiter({ default: bucket, routes: {} }, store, { leases: { now: () => clock.now } });
    expect(new RateLimiter({ routes: {} }, store).check(consult())).toEqual({ allowed: true, headers: {} });
    // Nothing leased yet: the store is asked.
    const first = l.check(consult());
    expect(first).toBeInstanceOf(Promise);
    await first;
    for (let i = 0; i < 9; i++) await l.check(consult());
    clock.now += 50;
    // A busy principal: this take leases 10 more, which the next requests spend at once, with the headers the store gave.
    expect((await l.check(consult())).headers["RateLimit-Remaining"]).toBe("989");
    for (let i = 0; i < 10; i++) {
      expect(l.check(consult())).toEqual({
        allowed: true,
        headers: { "RateLimit-Limit": "1000", "RateLimit-Remaining": String(988 - i), "RateLimit-Reset": String(12 + i) },
      });
    }
    // Spent: the store again.
    const again = l.check(consult());
    expect(again).toBeInstanceOf(Promise);
    expect((await again).allowed).toBe(true);
  });

  it("passes a store failure on to the caller", async () => {
    const failing = { takeTokens: () => Promise.reject(new Error("down")) } as unknown as SharedStore;
    const l = new RateLimiter({ default: { capacity: 1, refillPerSecond: 1 }, routes: {} }, failing);
    await expect(l.check(consult())).rejects.toThrow("down");
  });
});
