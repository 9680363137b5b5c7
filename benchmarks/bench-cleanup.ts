import Redis from "ioredis";
import { Client } from "pg";

/** Removing what a benchmark made in the shared Redis and PostgreSQL: its keys under a prefix, its schema. */

export async function cleanRedis(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
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
}

export async function withPg<T>(databaseUrl: string, f: (pg: Client) => Promise<T>): Promise<T> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    return await f(pg);
  } finally {
    await pg.end();
  }
}

export const dropSchema = (databaseUrl: string, schema: string): Promise<void> => withPg(databaseUrl, async (pg) => void (await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));
