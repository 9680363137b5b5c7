import { RedisSharedStore } from "../../../../lib/coordination/redis-shared-store";
import { clientAddress, TrustedProxies } from "../../../../lib/http/client-address";
import { RateLimiter, type RateLimitRequest } from "../../../../lib/ratelimit/rate-limiter";
import { testRedisPrefix } from "../../../helpers/redis-prefix";

const redis = testRedisPrefix("rate_limiter");
let n = 0;

afterAll(() => redis.clean());

// Two gateway nodes: each its own RedisSharedStore (one connection each) under one cluster prefix.
async function withTwoNodes(config: ConstructorParameters<typeof RateLimiter>[0], run: (a: RateLimiter, b: RateLimiter) => Promise<void>) {
  const prefix = `${redis.prefix}:${n++}`;
  const stores = [new RedisSharedStore(redis.url, prefix), new RedisSharedStore(redis.url, prefix)];
  try {
    await run(new RateLimiter(config, stores[0]!), new RateLimiter(config, stores[1]!));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

const request: RateLimitRequest = { principalId: "key-1", clientAddress: "203.0.113.7", method: "POST", path: "/api/v1/consult" };

describe("RateLimiter over Redis, two nodes", () => {
  it("holds one limit across both nodes: 50 concurrent requests against 10 tokens, exactly 10 pass", async () => {
    await withTwoNodes({ routes: { "POST /api/v1/consult": { capacity: 10, refillPerSecond: 0.5 } } }, async (a, b) => {
      const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).check(request)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      for (const d of decisions.filter((d) => !d.allowed)) {
        // The next token is 2 s away, less the few ms the race took: Retry-After rounds that up to 2.
        expect(d).toMatchObject({ retryAfterSec: 2, headers: { "Retry-After": "2", "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "20" } });
      }
      // Another principal has its own bucket on either node.
      expect((await a.check({ ...request, principalId: "key-2" })).allowed).toBe(true);
    });
  });

  it("lets a refused client through again once its Retry-After has passed", async () => {
    await withTwoNodes({ default: { capacity: 1, refillPerSecond: 1 }, routes: {} }, async (a, b) => {
      expect((await a.check(request)).allowed).toBe(true);
      const refused = await b.check(request);
      expect(refused).toMatchObject({ allowed: false, retryAfterSec: 1 });
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await b.check(request)).allowed).toBe(true);
    });
  });

  it("does not let a spoofed X-Forwarded-For from an untrusted peer change the anonymous bucket", async () => {
    const trusted = new TrustedProxies(["10.0.0.0/8"]);
    await withTwoNodes({ default: { capacity: 2, refillPerSecond: 0.01 }, routes: {} }, async (a, b) => {
      const anonymous = (xff: string) => ({ ...request, principalId: undefined, clientAddress: clientAddress("198.51.100.20", xff, trusted) });
      const allowed = [];
      for (let i = 0; i < 5; i++) allowed.push((await (i % 2 ? a : b).check(anonymous(`192.0.2.${i}`))).allowed);
      expect(allowed).toEqual([true, true, false, false, false]);
    });
  });
});
