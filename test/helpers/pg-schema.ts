import { Client } from "pg";
import { DATABASE_URL } from "./services";
import { uniqueName } from "./unique";

export interface TestSchema {
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A PostgreSQL schema of this test file's own (created lazily by the store, dropped here). */
export function testSchema(tag: string): TestSchema {
  const schema = uniqueName(tag);
  return {
    url: DATABASE_URL,
    schema,
    async drop() {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
