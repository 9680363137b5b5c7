import { MigrationError, UnavailableError } from "../../../../lib/errors";
import { silentLogger } from "../../../../lib/logger";
import { MIGRATIONS, migrate, MIGRATIONS_TABLE, PostgresStore, schemaVersion, type Migration, type Store } from "../../../../lib/store";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("store");
afterAll(() => stores.closeAll());

/** The user tables and their columns, as the information schema sees them. */
async function shape(store: Store): Promise<string[]> {
  const res = await store.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`,
  );
  return res.rows.map((r) => `${r.table_name}.${r.column_name}:${r.data_type}`);
}

describe.each(stores.backends)("%s store", (_name, open) => {
  let store: Store;
  beforeAll(async () => {
    store = await open();
  });

  it("runs parameterised queries", async () => {
    const res = await store.query<{ n: number; s: string }>("SELECT $1::int + 1 AS n, $2::text AS s", [41, "x"]);
    expect(res.rows).toEqual([{ n: 42, s: "x" }]);
    await store.ping();
  });

  it("runs a named (prepared) statement again and again with new parameters, in and out of transactions", async () => {
    const sql = "SELECT $1::int * 2 AS n";
    for (const x of [1, 2, 3]) expect((await store.query<{ n: number }>(sql, [x], { prepare: "store_test_double" })).rows).toEqual([{ n: x * 2 }]);
    const held = await store.transaction(async (tx) => {
      expect((await tx.query<{ n: number }>(sql, [21], { prepare: "store_test_double" })).rows).toEqual([{ n: 42 }]);
      // The same connection: PostgreSQL keeps the statement by that name (parsed and planned once per connection); PGlite ignores the name.
      return (await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1", ["store_test_double"])).rows[0]!.n;
    });
    expect(held).toBe(store.kind === "postgres" ? 1 : 0);
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    await store.exec("CREATE TABLE tx_probe (id int PRIMARY KEY)");
    await store.transaction(async (tx) => {
      await tx.query("INSERT INTO tx_probe VALUES ($1)", [1]);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_probe VALUES ($1)", [2]);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const res = await store.query<{ id: number }>("SELECT id FROM tx_probe ORDER BY id");
    expect(res.rows).toEqual([{ id: 1 }]);
    await store.exec("DROP TABLE tx_probe");
  });

  it("migrates an empty schema to the latest version, and a second run is a no-op", async () => {
    expect(await schemaVersion(store)).toBe(0);
    const first = await migrate(store, MIGRATIONS);
    expect(first).toEqual({ from: 0, to: MIGRATIONS.length, applied: MIGRATIONS.map(({ version, name }) => ({ version, name })) });
    const installation = await store.query<{ value: string }>("SELECT value FROM core_meta WHERE key = 'installation_id'");
    expect(installation.rows[0]!.value).toMatch(/^[0-9a-f-]{36}$/);
    const second = await migrate(store, MIGRATIONS);
    expect(second).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length, applied: [] });
    expect(await schemaVersion(store)).toBe(MIGRATIONS.length);
  });

  it("refuses a database whose applied migration was edited", async () => {
    const edited: Migration[] = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(migrate(store, edited)).rejects.toThrow(/was changed after it was applied/);
  });

  it("refuses a database newer than this build", async () => {
    await expect(migrate(store, [])).rejects.toThrow(MigrationError);
    await expect(migrate(store, [])).rejects.toThrow(/newer than this build of CORE knows/);
  });

  it("leaves the schema where it was when a migration fails", async () => {
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: "ok-part", sql: "CREATE TABLE half_done (id int)" },
      { version: MIGRATIONS.length + 2, name: "broken", sql: "CREATE TABLE nope (id no_such_type)" },
    ];
    await expect(migrate(store, broken)).rejects.toThrow(/migration \d+ \("broken"\) failed/);
    expect(await schemaVersion(store)).toBe(MIGRATIONS.length);
    const exists = await store.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'half_done'");
    expect(exists.rowCount).toBe(0);
  });
});

describe("both backends", () => {
  it("reach the same schema version with the same tables and columns", async () => {
    const [pg, lite] = await Promise.all([stores.postgres(), stores.pglite()]);
    await migrate(pg, MIGRATIONS);
    await migrate(lite, MIGRATIONS);
    expect(await schemaVersion(pg)).toBe(await schemaVersion(lite));
    const pgShape = await shape(pg);
    expect(pgShape).toContain(`${MIGRATIONS_TABLE}.checksum:text`);
    expect(pgShape).toContain("core_meta.value:jsonb");
    expect(await shape(lite)).toEqual(pgShape);
  });

  it("PostgreSQL: nodes migrating at once apply each migration once", async () => {
    const s = stores.schema("race");
    const racers = await Promise.all([1, 2, 3].map(() => stores.postgres(s, { poolSize: 2 })));
    const results = await Promise.all(racers.map((r) => migrate(r, MIGRATIONS)));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
    const rows = await racers[0]!.query(`SELECT version FROM ${MIGRATIONS_TABLE}`);
    expect(rows.rowCount).toBe(MIGRATIONS.length);
  });

  it("PostgreSQL: a connection that dies inside a transaction fails it as UNAVAILABLE, and the process goes on", async () => {
    const pg = await stores.postgres(stores.schema("dies"));
    const killer = await stores.postgres(stores.schema("killer"));
    const err = await pg
      .transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this transaction's connection, as a crash or a restart of PostgreSQL would.
        await killer.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query("SELECT 1");
      })
      .catch((e: unknown) => e);
    // Without a listener of its own on the checked-out client, its 'error' event would have been unhandled: the process would be gone.
    expect(err).toBeInstanceOf(UnavailableError);
    expect((await pg.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one).toBe(1);
  });

  it("PostgreSQL unreachable: retries with a clear log line until aborted, then fails as UNAVAILABLE", async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (...args: unknown[]) => lines.push(args.join(" ")) };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_500);
    const err = await PostgresStore.open({
      url: "postgres://postgres@127.0.0.1:1/none",
      schema: "public",
      logger,
      signal: controller.signal,
      backoff: { initialMs: 100, maxMs: 400, factor: 2 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none is unreachable \(ECONNREFUSED\); retrying in \d+\.\d s \(attempt 1\)$/);
  });
});
