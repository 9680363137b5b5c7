import { Cachers, type ServiceBroker } from "moleculer";
import { backoffDelay, REDIS_RECONNECT } from "../lib/resilience/backoff";
import { redactUrl } from "../lib/store";


interface RedisLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeAllListeners(event: string): unknown;
}

/**
 * Moleculer's Redis cacher, made to survive Redis being down: a cache that
 * cannot answer is a miss (never a failed call), each reconnect attempt is one
 * clear log line (never a stack trace), and reconnects back off.
 */
export class ResilientRedisCacher extends Cachers.Redis {
  private lastError = "";
  private readonly where: string;

  constructor(url: string, prefix: string) {
    let where = "";
    super({
      prefix: `${prefix}:`,
      ttl: 0,
      redis: {
        ...parseRedisUrl(url),
        // Fail fast while disconnected; the overrides below turn failure into a miss.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: (times: number) => {
          const delay = backoffDelay(times, REDIS_RECONNECT);
          this.logger.warn(`Redis at ${where} is unreachable (${this.lastError || "no answer"}); retrying in ${(delay / 1000).toFixed(1)} s (attempt ${times})`);
          return delay;
        },
      },
    });
    where = redactUrl(url);
    this.where = where;
  }

  override init(broker: ServiceBroker): void {
    super.init(broker);
    const client = this.client as RedisLike;
    client.removeAllListeners("error");
    client.on("error", (err: unknown) => {
      this.connected = false;
      const e = err as { code?: string; message?: string };
      this.lastError = e.code ?? e.message ?? String(err);
      this.broker.broadcastLocal("$cacher.error", { error: err, module: "cacher", type: "CLIENT_ERROR" });
    });
    client.on("end", () => (this.connected = false));
  }

  /** Moleculer's close() sends QUIT, which never completes while Redis is down and leaves ioredis reconnecting. */
  override async close(): Promise<void> {
    const client = this.client as { status?: string; quit(): Promise<unknown>; disconnect(): void };
    if (client.status === "ready") {
      try {
        await super.close();
        return;
      } catch {
        // Fall through to a hard disconnect.
      }
    }
    client.disconnect();
  }

  describe(): string {
    return `Redis ${this.where}`;
  }

  override async get(key: string): Promise<Record<string, unknown> | null> {
    try {
      return await super.get(key);
    } catch {
      return null;
    }
  }

  override async getWithTTL(key: string): Promise<Record<string, unknown> | null> {
    try {
      return await super.getWithTTL(key);
    } catch {
      return { data: null, ttl: null };
    }
  }

  override async set(key: string, data: unknown, ttl?: number): Promise<void> {
    try {
      await super.set(key, data, ttl);
    } catch {
      // Not cached this time; the call itself succeeded.
    }
  }

  override async del(key: string | string[]): Promise<void> {
    try {
      await super.del(key);
    } catch (err) {
      this.logger.warn(`Redis cache delete failed (${(err as Error).message}); entries expire by TTL`);
    }
  }

  override async clean(match?: string | string[]): Promise<void> {
    try {
      await super.clean(match);
    } catch (err) {
      this.logger.warn(`Redis cache clean failed (${(err as Error).message}); entries expire by TTL`);
    }
  }
}

/** ioredis options from a redis:// URL (ioredis takes a URL string only as a separate argument). */
function parseRedisUrl(url: string): Record<string, unknown> {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, "");
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}
