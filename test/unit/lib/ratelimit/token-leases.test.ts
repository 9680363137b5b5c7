import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import type { SharedStore, TokenBucket, TokenTake, TokenTakeRequest } from "../../../../lib/coordination/shared-store";
import { TokenLeases } from "../../../../lib/ratelimit/token-leases";

/** One shared store (the cluster's bucket) and a node's leases over it, counting the store calls. */
function setup(options: { lifetimeMs?: number; maxTokens?: number } = {}) {
  const clock = { now: 1_000_000 };
  const store = new MemorySharedStore(() => clock.now);
  const calls: TokenTakeRequest[][] = [];
  const counting: SharedStore = Object.assign(Object.create(store) as SharedStore, {
    takeTokens: (takes: readonly TokenTakeRequest[]): Promise<TokenTake[]> => {
      calls.push(takes.map((t) => ({ ...t })));
      return store.takeTokens(takes);
    },
  });
  const node = () => new TokenLeases(counting, { ...options, now: () => clock.now });
  return { clock, store, calls, node };
}

const take = (key: string, bucket: TokenBucket): TokenTakeRequest[] => [{ key, bucket }];

describe("TokenLeases", () => {
  it("takes exactly until a principal is busy here, then a few tokens per store call, and answers the headers' numbers", async () => {
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const { calls, node, clock } = setup();
    const leases = node();
    // A first window of 10 requests: nothing known yet, every take exact.
    for (let i = 0; i < 10; i++) expect((await leases.takeTokens(take("p", bucket)))[0]).toMatchObject({ allowed: true, remaining: 999 - i });
    expect(calls.map((c) => c[0]!.cost)).toEqual(Array(10).fill(undefined));
    clock.now += 50;
    // Next window: 10 requests last time, so a lease of 10 with the take.
    expect((await leases.takeTokens(take("p", bucket)))[0]).toMatchObject({ allowed: true, remaining: 989 });
    expect(calls[10]![0]!.cost).toBe(11);
    for (let i = 0; i < 10; i++) expect((await leases.takeTokens(take("p", bucket)))[0]).toMatchObject({ allowed: true, remaining: 988 - i });
    expect(calls).toHaveLength(11);
    // Lease spent: the next take goes to the store again.
    await leases.takeTokens(take("p", bucket));
    expect(calls).toHaveLength(12);
    // Another principal is a bucket of its own, taken exactly.
    await leases.takeTokens(take("q", bucket));
    expect(calls[12]![0]!.key).toBe("q");
    expect(calls[12]![0]!.cost).toBeUndefined();
  });

  it("hands a lease's tokens out at once through takeLeased, and nothing once it is spent or expired", async () => {
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const { calls, node, clock } = setup();
    const leases = node();
    expect(leases.takeLeased(take("p", bucket))).toBeUndefined();
    for (let i = 0; i < 4; i++) await leases.takeTokens(take("p", bucket));
    clock.now += 50;
    await leases.takeTokens(take("p", bucket)); // 1 + 4
    expect(calls).toHaveLength(5);
    for (let i = 0; i < 4; i++) expect(leases.takeLeased(take("p", bucket))?.[0]).toMatchObject({ allowed: true, remaining: 994 - i });
    expect(leases.takeLeased(take("p", bucket))).toBeUndefined();
    await leases.takeTokens(take("p", bucket)); // from the store again: 1 + 4 (the last whole window's requests)
    expect(calls[5]![0]!.cost).toBe(5);
    clock.now += 50;
    expect(leases.takeLeased(take("p", bucket))).toBeUndefined();
    expect(leases.takeLeased([{ key: "p", bucket, cost: 2 }])).toBeUndefined();
    expect(calls).toHaveLength(6);
  });

  it("lets concurrent requests wait for the lease on its way rather than each make a round trip", async () => {
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const { calls, node, clock } = setup();
    const leases = node();
    for (let i = 0; i < 40; i++) await leases.takeTokens(take("p", bucket));
    clock.now += 50;
    // 40 at once: the first takes 1 + 40, the 39 others spend its lease.
    const results = await Promise.all(Array.from({ length: 40 }, () => leases.takeTokens(take("p", bucket))));
    expect(calls.slice(40).map((c) => c[0]!.cost)).toEqual([41]);
    expect(results.every((r) => r[0]!.allowed)).toBe(true);
    // 100 more at once: the last token of that lease, then leases sized by the requests waiting for them (at most 64).
    await Promise.all(Array.from({ length: 100 }, () => leases.takeTokens(take("p", bucket))));
    expect(calls.slice(41).map((c) => c[0]!.cost)).toEqual([41, 58]);
  });

  it("leases at most 1,024 tokens however busy the principal", async () => {
    const bucket = { capacity: 1_000_000, refillPerSecond: 1 };
    const { calls, node, clock } = setup();
    const leases = node();
    await Promise.all(Array.from({ length: 3000 }, () => leases.takeTokens(take("p", bucket))));
    clock.now += 50;
    await leases.takeTokens(take("p", bucket));
    expect(calls.at(-1)![0]!.cost).toBe(1 + 1024);
  });

  it("never holds tokens past the lease's lifetime", async () => {
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const { calls, node, clock, store } = setup({ lifetimeMs: 50 });
    const leases = node();
    for (let i = 0; i < 40; i++) await leases.takeTokens(take("p", bucket));
    clock.now += 50;
    await leases.takeTokens(take("p", bucket));
    expect(calls[40]![0]!.cost).toBe(41);
    clock.now += 50;
    // Expired: this take goes to the store, and the 40 unspent tokens are gone from the shared bucket (never spent).
    const [after] = await leases.takeTokens(take("p", bucket));
    expect(calls).toHaveLength(42);
    expect(after!.remaining).toBeLessThanOrEqual(1000 - 40 - 41);
    expect((await store.takeTokens(take("p", bucket)))[0]!.remaining).toBeLessThanOrEqual(1000 - 40 - 41 - 1);
  });

  it("leases at most an eighth of what the bucket holds, and takes exactly near the limit", async () => {
    const bucket = { capacity: 40, refillPerSecond: 0.001 };
    const { calls, node, clock } = setup();
    const leases = node();
    const allowed: boolean[] = [];
    for (let i = 0; i < 30; i++) allowed.push((await leases.takeTokens(take("p", bucket)))[0]!.allowed);
    clock.now += 50;
    for (let i = 0; i < 20; i++) allowed.push((await leases.takeTokens(take("p", bucket)))[0]!.allowed);
    // 10 left after the first window: a lease of 1 (10 / 8), spent; 8 left: another of 1; 6 left: exact takes from there on.
    expect(calls.slice(30).map((c) => c[0]!.cost ?? 1)).toEqual([2, 2, ...Array(16).fill(1)]);
    // Exactly the capacity passed, none more, none fewer.
    expect(allowed.filter(Boolean)).toHaveLength(40);
  });

  it("refuses only through the store, with its Retry-After, and never leases more than the bucket holds", async () => {
    const bucket = { capacity: 100, refillPerSecond: 2 };
    const { clock, node } = setup();
    const [a, b] = [node(), node()];
    // Node a is busy: it leases. Node b drains the bucket meanwhile.
    for (let i = 0; i < 20; i++) await a.takeTokens(take("p", bucket));
    clock.now += 50;
    await a.takeTokens(take("p", bucket)); // 1 + 10 leased
    let refusedB: TokenTake | undefined;
    for (let i = 0; i < 100 && !refusedB; i++) {
      const [t] = await b.takeTokens(take("p", bucket));
      if (!t!.allowed) refusedB = t;
    }
    // 0.5 s a token, 50 ms of it already refilled.
    expect(refusedB).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 450 });
    // a spends its lease (10), then is refused by the store like b.
    const results = [];
    for (let i = 0; i < 11; i++) results.push((await a.takeTokens(take("p", bucket)))[0]!);
    expect(results.slice(0, 10).every((t) => t.allowed)).toBe(true);
    expect(results[10]).toMatchObject({ allowed: false, retryAfterMs: 450 });
  });

  it("holds the shared limit across two busy nodes within refill × lifetime", async () => {
    const bucket = { capacity: 50, refillPerSecond: 200 };
    const { clock, node } = setup({ lifetimeMs: 50 });
    const [a, b] = [node(), node()];
    let admitted = 0;
    const start = clock.now;
    // 1 s in 1 ms steps, 5 requests per node per step: far more than the limit allows.
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 5; i++) {
        if ((await a.takeTokens(take("p", bucket)))[0]!.allowed) admitted++;
        if ((await b.takeTokens(take("p", bucket)))[0]!.allowed) admitted++;
      }
      clock.now += 1;
    }
    const seconds = (clock.now - start) / 1000;
    expect(admitted).toBeLessThanOrEqual(bucket.capacity + bucket.refillPerSecond * (seconds + 0.05));
    // And nowhere near starved: within the tokens the leases may strand (each at most an eighth of the bucket, per lease).
    expect(admitted).toBeGreaterThanOrEqual(bucket.capacity + bucket.refillPerSecond * seconds * 0.8);
  });

  it("passes a store failure on to every request, none left waiting (the admission then fails open)", async () => {
    const bucket = { capacity: 1000, refillPerSecond: 1 };
    const { clock, store } = setup();
    let down = false;
    const flaky: SharedStore = Object.assign(Object.create(store) as SharedStore, {
      takeTokens: (takes: readonly TokenTakeRequest[]) => (down ? Promise.reject(new Error("Redis down")) : store.takeTokens(takes)),
    });
    const leases = new TokenLeases(flaky, { now: () => clock.now });
    for (let i = 0; i < 40; i++) await leases.takeTokens(take("p", bucket));
    clock.now += 50;
    down = true;
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => leases.takeTokens(take("p", bucket))));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    down = false;
    expect((await leases.takeTokens(take("p", bucket)))[0]!.allowed).toBe(true);
  });

  it("passes takes of other costs to the store unchanged", async () => {
    const bucket = { capacity: 10, refillPerSecond: 1 };
    const { calls, node } = setup();
    await node().takeTokens([{ key: "p", bucket, cost: 3 }]);
    expect(calls).toEqual([[{ key: "p", bucket, cost: 3 }]]);
  });
});
