import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import type { TokenBucket } from "../../../../lib/coordination/shared-store";

// The token-bucket arithmetic on a clock the test moves by hand: exact numbers, no waiting.
function storeAt(start = 1_000_000, options = {}) {
  const clock = { now: start };
  return { clock, store: new MemorySharedStore(() => clock.now, options) };
}

const bucket: TokenBucket = { capacity: 10, refillPerSecond: 5 };
const take = (store: MemorySharedStore, key = "k", cost?: number) => store.takeTokens([{ key, bucket, cost }]).then((r) => r[0]!);

describe("MemorySharedStore token buckets on a fake clock", () => {
  it("starts full, empties by the burst, and names the exact wait and reset", async () => {
    const { store } = storeAt();
    for (let i = 9; i >= 0; i--) expect(await take(store)).toEqual({ allowed: true, limit: 10, remaining: i, retryAfterMs: 0, resetMs: (10 - i) * 200 });
    expect(await take(store)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterMs: 200, resetMs: 2_000 });
  });

  it("refills continuously: a take passes exactly when its retryAfter has passed", async () => {
    const { clock, store } = storeAt();
    for (let i = 0; i < 10; i++) await take(store);
    clock.now += 199;
    expect(await take(store)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.now += 1;
    expect(await take(store)).toMatchObject({ allowed: true, remaining: 0 });
    clock.now += 1_000;
    expect(await take(store)).toMatchObject({ allowed: true, remaining: 4, resetMs: 1_200 });
    // Fractional refill: 0.1 s at 5/s is half a token; a take of 0.5 passes, another does not.
    clock.now += 10_000;
    for (let i = 0; i < 10; i++) await take(store);
    clock.now += 100;
    expect(await take(store, "k", 0.5)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await take(store, "k", 0.5)).toMatchObject({ allowed: false, retryAfterMs: 100 });
  });

  it("never overfills past the capacity, however long a bucket idles", async () => {
    const { clock, store } = storeAt();
    await take(store);
    clock.now += 3_600_000;
    expect(await take(store)).toMatchObject({ remaining: 9 });
  });

  it("refills nothing, and does not fail, when the clock goes back", async () => {
    const { clock, store } = storeAt();
    for (let i = 0; i < 10; i++) await take(store);
    clock.now -= 5_000;
    expect(await take(store)).toMatchObject({ allowed: false, retryAfterMs: 200 });
  });

  it("drops a bucket once it is full again, and keeps at most maxBuckets", async () => {
    const { clock, store } = storeAt(1_000_000, { maxBuckets: 2 });
    const buckets = store["buckets"];
    await take(store, "a", 3);
    clock.now += 599;
    expect(buckets.has("a")).toBe(true);
    clock.now += 2;
    expect(buckets.has("a")).toBe(false);
    expect(await take(store, "a")).toMatchObject({ remaining: 9 });
    await take(store, "b");
    await take(store, "c");
    expect(buckets.size).toBe(2);
    // "a" was the least recently used: forgotten, it starts full again.
    expect(await take(store, "a")).toMatchObject({ remaining: 9 });
  });
});
