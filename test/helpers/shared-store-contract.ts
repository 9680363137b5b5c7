import { MISSING_COUNTER, type SharedStore, type TokenBucket } from "../../lib/coordination/shared-store";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The behaviour every SharedStore must have, run against memory (unit) and Redis (integration). */
export function sharedStoreContract(name: string, make: () => Promise<SharedStore>): void {
  describe(`${name} as a SharedStore`, () => {
    let store: SharedStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it("keeps a value until its TTL passes", async () => {
      await store.set("v", "hello", 150);
      expect(await store.get("v")).toBe("hello");
      await new Promise((r) => setTimeout(r, 250));
      expect(await store.get("v")).toBeUndefined();
    });

    it("gives a lock to one taker at a time, releases it only to its holder, and frees it after its TTL", async () => {
      const a = await store.tryLock("l", 200);
      expect(a).toEqual(expect.any(String));
      expect(await store.tryLock("l", 200)).toBeUndefined();
      await store.unlock("l", "not-the-token");
      expect(await store.tryLock("l", 200)).toBeUndefined();
      await store.unlock("l", a!);
      const b = await store.tryLock("l", 100);
      expect(b).toEqual(expect.any(String));
      await new Promise((r) => setTimeout(r, 200));
      expect(await store.tryLock("l", 100)).toEqual(expect.any(String));
    });

    it("adds to counters all or nothing within their limits, starting from their initial value", async () => {
      const counters = [
        { key: "c1", limit: 100, ttlSec: 60, initial: 30 },
        { key: "c2", limit: 50, ttlSec: 60, initial: 0 },
      ];
      expect(await store.addWithinLimits(counters, 40)).toBe(-1);
      expect(await store.read(["c1", "c2"])).toEqual([70, 40]);
      // c2 would pass 50: nothing is added anywhere.
      expect(await store.addWithinLimits(counters, 20)).toBe(1);
      expect(await store.read(["c1", "c2"])).toEqual([70, 40]);
      await store.add(["c1", "c2", "missing"], -15);
      expect(await store.read(["c1", "c2", "missing"])).toEqual([55, 25, 0]);
    });

    it("changes nothing and answers MISSING_COUNTER when a counter without a starting value does not exist", async () => {
      await store.addWithinLimits([{ key: "known", limit: 100, ttlSec: 60, initial: 10 }], 5);
      const lazy = [
        { key: "known", limit: 100, ttlSec: 60 },
        { key: "unknown", limit: 100, ttlSec: 60 },
      ];
      expect(await store.addWithinLimits(lazy, 5)).toBe(MISSING_COUNTER);
      expect(await store.read(["known", "unknown"])).toEqual([15, 0]);
      // Once every counter exists, none needs a starting value.
      expect(await store.addWithinLimits([lazy[1]!].map((c) => ({ ...c, initial: 40 })), 5)).toBe(-1);
      expect(await store.addWithinLimits(lazy, 5)).toBe(-1);
      expect(await store.read(["known", "unknown"])).toEqual([20, 50]);
    });

    it("never lets concurrent additions pass a limit together", async () => {
      const counter = [{ key: "race", limit: 1_000, ttlSec: 60, initial: 0 }];
      const results = await Promise.all(Array.from({ length: 50 }, () => store.addWithinLimits(counter, 100)));
      expect(results.filter((r) => r === -1)).toHaveLength(10);
      expect(await store.read(["race"])).toEqual([1_000]);
    });

    describe("token buckets", () => {
      // 2 tokens a second: 500 ms a token, slow enough for a loaded machine to keep up.
      const bucket: TokenBucket = { capacity: 5, refillPerSecond: 2 };

      it("lets a burst up to the capacity through, then refuses with the time until the next token", async () => {
        const started = Date.now();
        const burst = [];
        for (let i = 0; i < 5; i++) burst.push((await store.takeTokens([{ key: "b", bucket }]))[0]!);
        expect(burst.map((t) => [t.allowed, t.remaining, t.limit, t.retryAfterMs])).toEqual([4, 3, 2, 1, 0].map((r) => [true, r, 5, 0]));
        const [refused] = await store.takeTokens([{ key: "b", bucket }]);
        const elapsed = Date.now() - started;
        expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 5 });
        // A token takes 500 ms; whatever has passed since the burst has already refilled part of it.
        expect(refused!.retryAfterMs).toBeLessThanOrEqual(500);
        expect(refused!.retryAfterMs).toBeGreaterThanOrEqual(500 - elapsed - 5);
        expect(refused!.resetMs).toBeLessThanOrEqual(2_500);
        expect(refused!.resetMs).toBeGreaterThanOrEqual(2_500 - elapsed - 5);
      });

      it("refills over time: a refused take passes once its retryAfter has passed, and not long before", async () => {
        for (let i = 0; i < 5; i++) await store.takeTokens([{ key: "r", bucket }]);
        const asked = Date.now();
        const [first] = await store.takeTokens([{ key: "r", bucket }]);
        await sleep(first!.retryAfterMs / 2);
        const [early] = await store.takeTokens([{ key: "r", bucket }]);
        const waited = Date.now() - asked;
        // Refused while the wait is not over; a loaded machine may oversleep past it, and then there is nothing early to see.
        if (waited < first!.retryAfterMs - 20) {
          expect(early!.allowed).toBe(false);
          expect(early!.retryAfterMs).toBeLessThanOrEqual(first!.retryAfterMs - waited + 20);
        }
        await sleep(early!.retryAfterMs + 5);
        const [late] = await store.takeTokens([{ key: "r", bucket }]);
        expect(late).toMatchObject({ allowed: true, retryAfterMs: 0 });
      });

      it("counts fractional tokens and costs", async () => {
        const half = { key: "f", bucket: { capacity: 1, refillPerSecond: 1 }, cost: 0.5 };
        expect((await store.takeTokens([half]))[0]!.allowed).toBe(true);
        expect((await store.takeTokens([half]))[0]!.allowed).toBe(true);
        const [refused] = await store.takeTokens([half]);
        expect(refused!.allowed).toBe(false);
        expect(refused!.retryAfterMs).toBeGreaterThan(400);
        expect(refused!.retryAfterMs).toBeLessThanOrEqual(500);
      });

      it("takes from several buckets all or nothing", async () => {
        const wide = { key: "wide", bucket: { capacity: 5, refillPerSecond: 0.01 } };
        const narrow = { key: "narrow", bucket: { capacity: 1, refillPerSecond: 0.01 } };
        expect((await store.takeTokens([wide, narrow])).map((t) => t.allowed)).toEqual([true, true]);
        const refused = await store.takeTokens([wide, narrow]);
        expect(refused.map((t) => [t.allowed, t.remaining])).toEqual([[true, 4], [false, 0]]);
        expect(refused[0]!.retryAfterMs).toBe(0);
        expect(refused[1]!.retryAfterMs).toBeGreaterThan(99_000);
        // The refused call took nothing from the bucket that had enough.
        expect((await store.takeTokens([wide]))[0]!.remaining).toBe(3);
        expect(await store.takeTokens([])).toEqual([]);
      });

      it("refuses a cost no bucket of that capacity can ever hold with BAD_REQUEST, and a key taken twice as a bug", async () => {
        await expect(store.takeTokens([{ key: "x", bucket, cost: 6 }])).rejects.toMatchObject({ code: "BAD_REQUEST", status: 400, retryable: false });
        await expect(store.takeTokens([{ key: "x", bucket }, { key: "x", bucket }])).rejects.toMatchObject({ code: "INTERNAL" });
        await expect(store.takeTokens([{ key: "x", bucket: { capacity: 0, refillPerSecond: 1 } }])).rejects.toMatchObject({ code: "INTERNAL" });
        await expect(store.takeTokens([{ key: "x", bucket, cost: 0 }])).rejects.toMatchObject({ code: "INTERNAL" });
        // Nothing was taken by the refused calls.
        expect((await store.takeTokens([{ key: "x", bucket, cost: 5 }]))[0]).toMatchObject({ allowed: true, remaining: 0 });
      });

      it("never lets concurrent takes pass the capacity together", async () => {
        const slow = { capacity: 10, refillPerSecond: 0.001 };
        const results = await Promise.all(Array.from({ length: 50 }, () => store.takeTokens([{ key: "crowd", bucket: slow }])));
        expect(results.filter(([t]) => t!.allowed)).toHaveLength(10);
        for (const [t] of results.filter(([t]) => !t!.allowed)) expect(t!.retryAfterMs).toBeGreaterThan(999_000);
      });
    });
  });
}
