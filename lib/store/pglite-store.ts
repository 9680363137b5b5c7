import { join } from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { DataDirLock } from "./data-dir-lock";
import { quoteIdent, type Queryable, type QueryResult, type Store } from "./store";

function wrap(db: PGlite | Transaction): Queryable {
  return {
    async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res = await db.query<R>(sql, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}

export interface PgliteStoreOptions {
  dataDir: string;
  schema: string;
  /** Recorded in the lock file so a refused process can say who holds the directory. */
  command: string;
  nodeId?: string;
}

/**
 * PostgreSQL in WASM, for a node with no DATABASE_URL. The database files live
 * in `<dataDir>/pgdata`, guarded by `<dataDir>/core.lock`.
 */
export class PgliteStore implements Store {
  readonly kind = "pglite" as const;
  private readonly queryable: Queryable;
  private closing: Promise<void> | undefined;

  private constructor(private readonly db: PGlite, private readonly lock: DataDirLock, readonly schema: string, private readonly dataDir: string) {
    this.queryable = wrap(db);
  }

  static async open(options: PgliteStoreOptions): Promise<PgliteStore> {
    const lock = DataDirLock.acquire(options.dataDir, { command: options.command, nodeId: options.nodeId });
    try {
      const db = await PGlite.create(join(options.dataDir, "pgdata"));
      // PGlite is one connection, so a session-level search_path holds for every later query.
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}; SET search_path TO ${quoteIdent(options.schema)};`);
      return new PgliteStore(db, lock, options.schema, options.dataDir);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.queryable.query<R>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.queryable.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(wrap(tx)));
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  describe(): string {
    return `PGlite ${this.dataDir} (schema ${this.schema})`;
  }

  /** Idempotent: the node closes its store on every way the broker stops. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.db.close();
      } finally {
        this.lock.release();
      }
    })();
    return this.closing;
  }
}
