import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../../lib/store";
import { runCore } from "../helpers/core-process";
import { testSchema } from "../helpers/pg-schema";

const latest = MIGRATIONS.length;
const pg = testSchema("migrate_cli");
const dataDir = mkdtempSync(join(tmpdir(), "core-migrate-"));

afterAll(async () => {
  await pg.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("core migrate", () => {
  it("brings an empty PostgreSQL schema and an empty PGlite directory to the same version; a second run is a no-op", async () => {
    const pgEnv = { DATABASE_URL: pg.url, CORE_DB_SCHEMA: pg.schema };
    const liteEnv = { CORE_DATA_DIR: dataDir };

    const [pgFirst, liteFirst] = await Promise.all([runCore(["migrate"], { env: pgEnv }), runCore(["migrate"], { env: liteEnv })]);
    expect(pgFirst.output).toContain(`PostgreSQL postgres://postgres@127.0.0.1:5432/test (schema ${pg.schema}): schema version 0 -> ${latest}; applied 1 (core-meta)`);
    expect(liteFirst.output).toContain(`PGlite ${dataDir} (schema public): schema version 0 -> ${latest}; applied 1 (core-meta)`);
    expect([pgFirst.code, liteFirst.code]).toEqual([0, 0]);

    const [pgAgain, liteAgain] = await Promise.all([runCore(["migrate"], { env: pgEnv }), runCore(["migrate"], { env: liteEnv })]);
    expect(pgAgain.output).toContain(`schema version ${latest} -> ${latest}; nothing to apply`);
    expect(liteAgain.output).toContain(`schema version ${latest} -> ${latest}; nothing to apply`);
    expect([pgAgain.code, liteAgain.code]).toEqual([0, 0]);
  });

  it("says clearly when PostgreSQL refuses the credentials or database", async () => {
    const { code, output } = await runCore(["migrate"], { env: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/no_such_database_here" } });
    expect(code).toBe(1);
    expect(output).toMatch(/database "no_such_database_here" does not exist/);
    expect(output).not.toMatch(/\n\s+at /);
  });
});
