import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/logger";
import { PgliteStore, PostgresStore, type Store } from "../../lib/store";
import { testSchema, type TestSchema } from "./pg-schema";

export interface TestStores {
  /** A PostgreSQL schema of this file's own (named after `tag`, the file's tag unless given). */
  schema(tag?: string): TestSchema;
  /**
   * A PostgresStore on `schema`, a fresh one unless given: open two on the
   * same schema for two nodes sharing one database.
   */
  postgres(schema?: TestSchema, options?: { poolSize?: number }): Promise<Store>;
  /** A PgliteStore in a temporary directory of its own. */
  pglite(): Promise<Store>;
  /** Both backends by name, for `describe.each`: the same tests run on PostgreSQL and on PGlite. */
  readonly backends: ReadonlyArray<readonly [name: string, open: () => Promise<Store>]>;
  /** Closes every store opened here, drops the schemas and removes the directories (call from afterAll). */
  closeAll(): Promise<void>;
}

/** The stores one test file opens, each on a schema or data directory no other file uses. */
export function testStores(tag: string): TestStores {
  const schemas: TestSchema[] = [];
  const dirs: string[] = [];
  const stores: Store[] = [];

  const schema = (schemaTag = tag): TestSchema => {
    const s = testSchema(schemaTag);
    schemas.push(s);
    return s;
  };

  const postgres = async (s = schema(), options: { poolSize?: number } = {}): Promise<Store> => {
    const store = await PostgresStore.open({ url: s.url, schema: s.schema, logger: silentLogger, ...options });
    stores.push(store);
    return store;
  };

  const pglite = async (): Promise<Store> => {
    const dir = mkdtempSync(join(tmpdir(), `core-${tag}-`));
    dirs.push(dir);
    const store = await PgliteStore.open({ dataDir: dir, schema: "public", command: "test" });
    stores.push(store);
    return store;
  };

  return {
    schema,
    postgres,
    pglite,
    backends: [
      ["PostgreSQL", () => postgres()],
      ["PGlite", pglite],
    ],
    async closeAll() {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await Promise.all(schemas.map((s) => s.drop()));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
