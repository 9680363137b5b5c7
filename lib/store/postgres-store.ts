import { Pool, type PoolClient } from "pg";
import { UnavailableError } from "../errors";
import type { Logger } from "../logger";
import { retryWithBackoff, type BackoffPolicy } from "../resilience/backoff";
import { quoteIdent, type QueryOptions, type Queryable, type QueryResult, type Store } from "./store";

/** Error codes that mean "the server is not there (now)", not "the SQL is wrong". */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EAI_AGAIN",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "08000",
  "08001",
  "08003",
  "08006",
]);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && CONNECTION_CODES.has(e.code)) return true;
  // The last: pg's answer to a query on a client whose connection already broke (the server went away mid-transaction).
  return /Connection terminated|timeout exceeded when trying to connect|has encountered a connection error/i.test(e.message ?? "");
}

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable URL>";
  }
}

function unavailable(err: unknown, where: string): UnavailableError {
  const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
  return new UnavailableError(`PostgreSQL at ${where} is unreachable (${reason})`, { cause: err, data: { reason } });
}

function wrapClient(client: { query: PoolClient["query"] }, where: string): Queryable {
  return {
    async query<R>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      try {
        const values = params as unknown[] | undefined;
        const res = options?.prepare ? await client.query({ name: options.prepare, text: sql, values }) : await client.query(sql, values);
        return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
      } catch (err) {
        throw isConnectionError(err) ? unavailable(err, where) : err;
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await client.query(sql);
      } catch (err) {
        throw isConnectionError(err) ? unavailable(err, where) : err;
      }
    },
  };
}

export interface PostgresStoreOptions {
  url: string;
  schema: string;
  logger: Logger;
  poolSize?: number;
  /** Stops the connection retries (e.g. on SIGINT during start-up). */
  signal?: AbortSignal;
  backoff?: BackoffPolicy;
}

export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  private readonly where: string;
  private readonly queryable: Queryable;
  private closing: Promise<void> | undefined;

  private constructor(private readonly pool: Pool, readonly schema: string, url: string) {
    this.where = redactUrl(url);
    this.queryable = wrapClient(pool, this.where);
  }

  /**
   * Opens a pool and waits (retrying with backoff, one log line per attempt)
   * until PostgreSQL answers and the schema exists.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      // Every connection of the pool works in the configured schema.
      options: `-c search_path=${quoteIdent(options.schema)}`,
    });
    const store = new PostgresStore(pool, options.schema, options.url);
    // An idle client losing its server must not crash the process: log, and the pool replaces it.
    pool.on("error", (err) => options.logger.warn(`PostgreSQL connection lost (${(err as { code?: string }).code ?? err.message}); the pool will reconnect`));
    try {
      await retryWithBackoff(() => store.createSchema(), {
        signal: options.signal,
        policy: options.backoff,
        shouldRetry: (err) => err instanceof UnavailableError,
        onRetry: ({ attempt, delayMs, error }) =>
          options.logger.warn(`${(error as Error).message}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`),
      });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /**
   * CREATE SCHEMA IF NOT EXISTS is not safe against itself: two nodes starting
   * together can both pass the check, and the loser sees a unique violation.
   */
  private async createSchema(): Promise<void> {
    try {
      await this.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== "23505" && code !== "42P06") throw err;
    }
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return this.queryable.query<R>(sql, params, options);
  }

  exec(sql: string): Promise<void> {
    return this.queryable.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw isConnectionError(err) ? unavailable(err, this.where) : err;
    }
    // pg-pool takes its own 'error' listener off a checked-out client: without one, the server going away mid-transaction would crash the process (the query itself rejects).
    const onError = () => undefined;
    client.on("error", onError);
    const tx = wrapClient(client, this.where);
    try {
      await tx.exec("BEGIN");
      const result = await fn(tx);
      await tx.exec("COMMIT");
      client.off("error", onError);
      client.release();
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      client.off("error", onError);
      // A client whose connection broke must not go back to the pool.
      client.release(isConnectionError(err) || err instanceof UnavailableError ? (err as Error) : undefined);
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  describe(): string {
    return `PostgreSQL ${this.where} (schema ${this.schema})`;
  }

  /** Idempotent: the node closes its store on every way the broker stops. */
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}
