import Redis from "ioredis";
import { RedisSharedStore } from "../../../../lib/coordination/redis-shared-store";
import { testRedisPrefix } from "../../../helpers/redis-prefix";
import { sharedStoreContract } from "../../../helpers/shared-store-contract";

const redis = testRedisPrefix("shared_store");
let n = 0;

afterAll(() => redis.clean());

// A fresh prefix per test: each starts from an empty store.
sharedStoreContract("RedisSharedStore", async () => new RedisSharedStore(redis.url, `${redis.prefix}:${n++}`));

describe("RedisSharedStore token buckets shared by two nodes", () => {
  // Two stores with one prefix are two nodes of one cluster: one bucket between them.
  const nodes = () => {
    const prefix = `${redis.prefix}:nodes:${n++}`;
    return [new RedisSharedStore(redis.url, prefix), new RedisSharedStore(redis.url, prefix)] as const;
  };

  it("never lets 50 concurrent takes from both nodes pass a capacity of 10", async () => {
    const [a, b] = nodes();
    const bucket = { capacity: 10, refillPerSecond: 1 };
    try {
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).takeTokens([{ key: "shared", bucket }])));
      const elapsed = Date.now() - started;
      const takes = results.map(([t]) => t!);
      expect(takes.filter((t) => t.allowed)).toHaveLength(10);
      // Each refusal waits for the next token: at most 1 s, less whatever refilled during the race.
      for (const t of takes.filter((t) => !t.allowed)) {
        expect(t.retryAfterMs).toBeLessThanOrEqual(1_000);
        expect(t.retryAfterMs).toBeGreaterThanOrEqual(1_000 - elapsed - 5);
        expect(t.remaining).toBe(0);
      }
      // The other node sees the same empty bucket.
      const [again] = await a.takeTokens([{ key: "shared", bucket }]);
      expect(again!.allowed).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("expires a bucket's hash when it would be full again", async () => {
    const [a, b] = nodes();
    try {
      const [t] = await a.takeTokens([{ key: "ttl", bucket: { capacity: 4, refillPerSecond: 2 }, cost: 3 }]);
      expect(t).toMatchObject({ allowed: true, remaining: 1, resetMs: 1_500 });
      const raw = new Redis(redis.url);
      try {
        const key = (await raw.keys(`${redis.prefix}:nodes:*:ttl`))[0]!;
        expect(await raw.pttl(key)).toBeGreaterThan(1_300);
        expect(await raw.pttl(key)).toBeLessThanOrEqual(1_500);
        expect(Number(await raw.hget(key, "t"))).toBeCloseTo(1, 2);
      } finally {
        raw.disconnect();
      }
      expect((await b.takeTokens([{ key: "ttl", bucket: { capacity: 4, refillPerSecond: 2 } }]))[0]!.remaining).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("RedisSharedStore while Redis is unreachable", () => {
  it("fails at once with UNAVAILABLE instead of queueing", async () => {
    const store = new RedisSharedStore("redis://127.0.0.1:1", "nowhere");
    const started = Date.now();
    await expect(store.get("x")).rejects.toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
    await store.close();
  });
});
