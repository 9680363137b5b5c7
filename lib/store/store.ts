/** Rows and the number of rows a statement touched. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * A name for a statement run often with the same text: PostgreSQL then
   * parses and plans it once per connection instead of on every call (for
   * the consultation's three-table insert that saved 0.7–2 ms a save on a
   * loaded machine). One name, one text; PGlite ignores it.
   */
  prepare?: string;
}

/** What a transaction body and the store itself both offer. */
export interface Queryable {
  /** One statement with `$1`-style parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * One interface over PostgreSQL (a `pg` pool) and PGlite (PostgreSQL in WASM,
 * embedded), so the same SQL and migrations run on both.
 */
export interface Store extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** The PostgreSQL schema every statement runs in (search_path). */
  readonly schema: string;
  /** Runs `fn` in a transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Where the data lives, for logs (never includes a password). */
  describe(): string;
  close(): Promise<void>;
}

/** Double-quotes an identifier for SQL; config validation already limits what reaches here. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A numeric, bigint or count column as a number: `pg` hands those over as strings (exact), PGlite as numbers. */
export function numberFrom(value: unknown): number {
  return typeof value === "number" ? value : Number(value ?? 0);
}
