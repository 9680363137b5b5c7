/** One versioned change to the schema, written in SQL that PostgreSQL and PGlite both run. */
export interface Migration {
  /** 1, 2, 3, … with no gaps: the schema version after this migration. */
  version: number;
  name: string;
  sql: string;
}
