import Redis from "ioredis";
import { REDIS_URL } from "./services";
import { uniqueName } from "./unique";

export interface TestRedisPrefix {
  url: string;
  prefix: string;
  /** Deletes every key under the prefix. */
  clean(): Promise<void>;
}

export function testRedisPrefix(tag: string): TestRedisPrefix {
  const prefix = uniqueName(tag);
  return {
    url: REDIS_URL,
    prefix,
    async clean() {
      const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== "0");
      } finally {
        redis.disconnect();
      }
    },
  };
}
