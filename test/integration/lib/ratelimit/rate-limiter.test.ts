import { RedisSharedStore } from "../../../../lib/coordination/redis-shared-store";
import { clientAddress, TrustedProxies } from "../../../../lib/http/client-address";
import { RateLimiter, type RateLimitRequest } from "../../../../lib/ratelimit/rate-limiter";
import { testRedisPrefix } from "../../../helpers/redis-prefix";

const redis = testRedisPrefix("rate_limiter");
let n = 0;

afterAll(() => redis.clean());

// Two gateway nodes: each its own RedisSharedStore (one connection each) under one cluster prefix.
// With `leases` as the API gateway has them (lib/ratelimit/token-leases.ts).
async function withTwoNodes(
  config: ConstructorParameters<typeof RateLimiter>[0],
  run: (a: RateLimiter, b: RateLimiter, stores: RedisSharedStore[]) => Promise<void>,
  leases = true,
) {
  const prefix = `${redis.prefix}:${n++}`;
  const stores = [new RedisSharedStore(redis.url, prefix), new RedisSharedStore(redis.url, prefix)];
  try {
    await run(new RateLimiter(config, stores[0]!, { leases }), new RateLimiter(config, stores[1]!, { leases }), stores);
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

  it("holds one limit across both nodes without leases too (exact takes)", async () => {
    await withTwoNodes(
      { routes: { "POST /api/v1/consult": { capacity: 10, refillPerSecond: 0.5 } } },
      async (a, b) => {
        const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).check(request)));
        expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      },
      false,
    );
  });

  /** 8 clients per node, each sending its next request when the last is answered, for `ms`; counts requests, admissions and store round trips. */
  async function hammer(a: RateLimiter, b: RateLimiter, stores: RedisSharedStore[], ms: number) {
    const counts = { requests: 0, admitted: 0, roundTrips: 0, seconds: 0 };
    for (const store of stores) {
      const take = store.takeTokens.bind(store);
      store.takeTokens = (takes) => (counts.roundTrips++, take(takes));
    }
    const started = performance.now();
    const until = started + ms;
    const client = async (node: RateLimiter) => {
      while (performance.now() < until) {
        counts.requests++;
        const d = await node.check(request);
        if (d.allowed) counts.admitted++;
        else expect(Number(d.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
      }
    };
    await Promise.all([...Array.from({ length: 8 }, () => client(a)), ...Array.from({ length: 8 }, () => client(b))]);
    counts.seconds = (performance.now() - started) / 1000;
    return counts;
  }

  it("with leases, over any time both nodes pass at most capacity + refill × (time + lease lifetime), and starve no one", async () => {
    const bucket = { capacity: 600, refillPerSecond: 300 };
    await withTwoNodes({ default: bucket, routes: {} }, async (a, b, stores) => {
      const { admitted, seconds } = await hammer(a, b, stores, 1_000);
      // The bound of token-leases.ts (lease lifetime 50 ms), on Redis's clock: a few ms of slack for the two clocks' offsets.
      expect(admitted).toBeLessThanOrEqual(bucket.capacity + bucket.refillPerSecond * (seconds + 0.05 + 0.01));
      // Leases strand a few tokens at most (each an eighth of the bucket or less, for 50 ms): nowhere near starving the principal.
      expect(admitted).toBeGreaterThanOrEqual(0.8 * (bucket.capacity + bucket.refillPerSecond * seconds));
    });
  });

  it("with leases, a busy principal's requests share store round trips while its bucket holds plenty", async () => {
    // A bucket the run cannot drain: after the first window of 50 ms (sized by its demand) each take from Redis brings a lease.
    await withTwoNodes({ default: { capacity: 1_000_000, refillPerSecond: 1 }, routes: {} }, async (a, b, stores) => {
      const { requests, admitted, roundTrips } = await hammer(a, b, stores, 400);
      expect(admitted).toBe(requests);
      expect(roundTrips).toBeLessThan(requests / 2);
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
