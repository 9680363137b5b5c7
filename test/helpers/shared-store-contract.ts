import type { SharedStore } from "../../lib/coordination/shared-store";

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

    it("never lets concurrent additions pass a limit together", async () => {
      const counter = [{ key: "race", limit: 1_000, ttlSec: 60, initial: 0 }];
      const results = await Promise.all(Array.from({ length: 50 }, () => store.addWithinLimits(counter, 100)));
      expect(results.filter((r) => r === -1)).toHaveLength(10);
      expect(await store.read(["race"])).toEqual([1_000]);
    });
  });
}
