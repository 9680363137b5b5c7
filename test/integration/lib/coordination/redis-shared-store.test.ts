import { RedisSharedStore } from "../../../../lib/coordination/redis-shared-store";
import { testRedisPrefix } from "../../../helpers/redis-prefix";
import { sharedStoreContract } from "../../../helpers/shared-store-contract";

const redis = testRedisPrefix("shared_store");
let n = 0;

afterAll(() => redis.clean());

// A fresh prefix per test: each starts from an empty store.
sharedStoreContract("RedisSharedStore", async () => new RedisSharedStore(redis.url, `${redis.prefix}:${n++}`));

describe("RedisSharedStore while Redis is unreachable", () => {
  it("fails at once with UNAVAILABLE instead of queueing", async () => {
    const store = new RedisSharedStore("redis://127.0.0.1:1", "nowhere");
    const started = Date.now();
    await expect(store.get("x")).rejects.toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
    await store.close();
  });
});
