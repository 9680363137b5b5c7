import Redis from "ioredis";
import { randomUUID } from "node:crypto";
import { UnavailableError } from "../errors";
import type { Logger } from "../logger";
import { backoffDelay, REDIS_RECONNECT } from "../resilience/backoff";
import { MISSING_COUNTER, type LimitedCounter, type SharedStore, type TokenTake, type TokenTakeRequest } from "./shared-store";
import { checkTakes, MS_EPSILON, TOKEN_EPSILON } from "./token-bucket";

// Release a lock only if we still hold it (another node may own it after our TTL ran out).
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// All counters checked, then all added, in one script: atomic across every node.
// ARGV: amount, then (limit, ttlSec, initial) per key.
const ADD_WITHIN_LIMITS = `
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if ARGV[2 + (i - 1) * 3 + 2] == '' and redis.call('EXISTS', key) == 0 then return ${MISSING_COUNTER} end
end
for i, key in ipairs(KEYS) do
  local base = 2 + (i - 1) * 3
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, ARGV[base + 2], 'EX', ARGV[base + 1], 'NX')
    v = ARGV[base + 2]
  end
  if tonumber(v) + amount > tonumber(ARGV[base]) then return i - 1 end
end
for _, key in ipairs(KEYS) do redis.call('INCRBY', key, amount) end
return -1`;

// Only counters that exist: a settlement after expiry must not start a new period at a negative value.
const ADD_EXISTING = `for _, key in ipairs(KEYS) do if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[1]) end end return 0`;

// Token buckets (the arithmetic of token-bucket.ts), all or nothing across KEYS,
// timed by the Redis server's clock so every node sees the same time. A bucket
// is a hash {t: tokens, ts: ms}; it expires when full again, as full equals missing.
// ARGV: (capacity, refillPerSecond, cost) per key. Returns per key: allowed (1/0),
// remaining, retryAfterMs, resetMs (integers: Redis truncates Lua numbers).
const TAKE_TOKENS = `
local eps = ${TOKEN_EPSILON}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local function ms_until(tokens, wanted, rate)
  local missing = wanted - tokens
  if missing <= eps then return 0 end
  return math.ceil(missing * 1000 / rate - ${MS_EPSILON})
end
local tokens, all = {}, true
for i, key in ipairs(KEYS) do
  local cap, rate, cost = tonumber(ARGV[i * 3 - 2]), tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  local state = redis.call('HMGET', key, 't', 'ts')
  local n = cap
  if state[1] and state[2] then
    n = math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate / 1000)
  end
  tokens[i] = n
  if n + eps < cost then all = false end
end
local out = {}
for i, key in ipairs(KEYS) do
  local cap, rate, cost = tonumber(ARGV[i * 3 - 2]), tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  local n, allowed, retry = tokens[i], 1, 0
  if all then
    n = math.max(0, n - cost)
    redis.call('HSET', key, 't', string.format('%.17g', n), 'ts', string.format('%.17g', now))
    redis.call('PEXPIRE', key, math.max(1, ms_until(n, cap, rate)))
  elseif n + eps < cost then
    allowed, retry = 0, ms_until(n, cost, rate)
  end
  table.insert(out, allowed)
  table.insert(out, math.floor(n + eps))
  table.insert(out, retry)
  table.insert(out, ms_until(n, cap, rate))
end
return out`;

/** How long a call waits for a connection that is not up (yet): a start-up race, not an outage. */
const CONNECT_WAIT_MS = 1_000;

type Scripted = Redis & {
  coreUnlock(key: string, token: string): Promise<number>;
  coreAddWithinLimits(...args: Array<string | number>): Promise<number>;
  coreAddExisting(...args: Array<string | number>): Promise<number>;
  coreTakeTokens(...args: Array<string | number>): Promise<number[]>;
};

/**
 * SharedStore on Redis: one connection per node, opened on first use (a node
 * that runs nothing needing shared state never connects), every key under the
 * cluster's prefix, counters and locks changed by Lua scripts so concurrent
 * nodes never interleave. While Redis is down, calls fail at once with
 * UNAVAILABLE (no offline queue): callers decide whether that is a miss.
 */
export class RedisSharedStore implements SharedStore {
  private readonly redis: Scripted;
  private connecting: Promise<void> | undefined;

  constructor(url: string, private readonly prefix: string, logger?: Logger) {
    const redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => backoffDelay(times, REDIS_RECONNECT),
      // Commands issued in the same tick go out in one write: under load every request's rate-limit
      // script would otherwise cost a socket write of its own (benchmarks/gateway).
      enableAutoPipelining: true,
    });
    let lastError = "";
    redis.on("error", (err: Error & { code?: string }) => {
      const what = err.code ?? err.message;
      if (what !== lastError) logger?.warn(`Redis (shared state) is unreachable: ${what}`);
      lastError = what;
    });
    redis.on("ready", () => (lastError = ""));
    redis.defineCommand("coreUnlock", { numberOfKeys: 1, lua: UNLOCK });
    redis.defineCommand("coreAddWithinLimits", { lua: ADD_WITHIN_LIMITS });
    redis.defineCommand("coreAddExisting", { lua: ADD_EXISTING });
    redis.defineCommand("coreTakeTokens", { lua: TAKE_TOKENS });
    this.redis = redis as Scripted;
  }

  private key(key: string): string {
    return `${this.prefix}:${key}`;
  }

  /** While (re)connecting, waits a moment for the connection rather than failing a call made just before it is up. */
  private ready(): Promise<void> {
    if (this.redis.status === "ready") return Promise.resolve();
    // First use: connect now (later reconnects are ioredis's own, by REDIS_RECONNECT).
    if (this.redis.status === "wait") this.redis.connect().catch(() => undefined);
    // One wait shared by every call made meanwhile (not one "ready" listener each).
    this.connecting ??= new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        this.connecting = undefined;
        resolve();
      };
      const timer = setTimeout(done, CONNECT_WAIT_MS).unref();
      this.redis.once("ready", done);
    });
    return this.connecting;
  }

  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      await this.ready();
      return await op();
    } catch (err) {
      throw new UnavailableError(`Redis could not ${what}: ${(err as Error).message}`, { cause: err });
    }
  }

  async ping(): Promise<void> {
    await this.run("answer a ping", () => this.redis.ping());
  }

  get(key: string): Promise<string | undefined> {
    return this.run("read a value", async () => (await this.redis.get(this.key(key))) ?? undefined);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run("write a value", async () => {
      await this.redis.set(this.key(key), value, "PX", Math.max(1, Math.round(ttlMs)));
    });
  }

  tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    return this.run("take a lock", async () => {
      const token = randomUUID();
      const ok = await this.redis.set(this.key(key), token, "PX", Math.max(1, Math.round(ttlMs)), "NX");
      return ok === "OK" ? token : undefined;
    });
  }

  unlock(key: string, token: string): Promise<void> {
    return this.run("release a lock", async () => {
      await this.redis.coreUnlock(this.key(key), token);
    });
  }

  addWithinLimits(counters: readonly LimitedCounter[], amount: number): Promise<number> {
    return this.run("update counters", async () => {
      const args: Array<string | number> = [counters.length, ...counters.map((c) => this.key(c.key)), amount];
      for (const c of counters) args.push(c.limit, Math.max(1, Math.ceil(c.ttlSec)), c.initial ?? "");
      return Number(await this.redis.coreAddWithinLimits(...args));
    });
  }

  add(keys: readonly string[], amount: number): Promise<void> {
    return this.run("update counters", async () => {
      if (keys.length) await this.redis.coreAddExisting(keys.length, ...keys.map((k) => this.key(k)), amount);
    });
  }

  read(keys: readonly string[]): Promise<number[]> {
    return this.run("read counters", async () => {
      if (!keys.length) return [];
      const values = await this.redis.mget(...keys.map((k) => this.key(k)));
      return values.map((v) => (v === null ? 0 : Number(v)));
    });
  }

  async takeTokens(takes: readonly TokenTakeRequest[]): Promise<TokenTake[]> {
    const costs = checkTakes(takes);
    if (!takes.length) return [];
    return this.run("take tokens", async () => {
      const args: Array<string | number> = [takes.length, ...takes.map((t) => this.key(t.key))];
      takes.forEach((t, i) => args.push(t.bucket.capacity, t.bucket.refillPerSecond, costs[i]!));
      const flat = (await this.redis.coreTakeTokens(...args)).map(Number);
      return takes.map((t, i) => ({
        allowed: flat[i * 4] === 1,
        limit: t.bucket.capacity,
        remaining: flat[i * 4 + 1]!,
        retryAfterMs: flat[i * 4 + 2]!,
        resetMs: flat[i * 4 + 3]!,
      }));
    });
  }

  async close(): Promise<void> {
    if (this.redis.status === "ready") {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }
}
