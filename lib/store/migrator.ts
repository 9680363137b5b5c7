import { createHash } from "node:crypto";
import { MigrationError } from "../errors";
import type { Logger } from "../logger";
import type { Migration } from "./migration";
import type { Queryable, Store } from "./store";

export const MIGRATIONS_TABLE = "core_schema_migrations";

export interface MigrationResult {
  from: number;
  to: number;
  applied: Array<Pick<Migration, "version" | "name">>;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

function checksum(migration: Migration): string {
  return createHash("sha256").update(migration.sql).digest("hex");
}

/** Migrations must be numbered 1..n without gaps or repeats; anything else is a build error. */
export function assertWellFormed(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new MigrationError(`migration "${m.name}" has version ${m.version}; expected ${i + 1} (versions are 1..n in order)`);
    }
  });
}

async function ensureTable(db: Queryable): Promise<void> {
  await db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
}

async function appliedRows(db: Queryable): Promise<AppliedRow[]> {
  const res = await db.query<AppliedRow>(`SELECT version, name, checksum FROM ${MIGRATIONS_TABLE} ORDER BY version`);
  return res.rows;
}

/** Checks what the database has against what this build knows. */
function verifyHistory(applied: AppliedRow[], migrations: readonly Migration[]): void {
  const latest = migrations.length;
  for (const row of applied) {
    const known = migrations[row.version - 1];
    if (!known) {
      throw new MigrationError(
        `the database is at schema version ${applied.at(-1)?.version}, newer than this build of CORE knows (${latest}); upgrade CORE before running it against this database`,
        { data: { databaseVersion: applied.at(-1)?.version, knownVersion: latest } },
      );
    }
    if (known.name !== row.name || checksum(known) !== row.checksum) {
      throw new MigrationError(
        `migration ${row.version} ("${row.name}") was changed after it was applied; add a new migration instead of editing an applied one`,
        { data: { version: row.version } },
      );
    }
  }
}

/** The schema version a store is at (0 when never migrated). */
export async function schemaVersion(store: Store): Promise<number> {
  await ensureTable(store);
  const rows = await appliedRows(store);
  return rows.at(-1)?.version ?? 0;
}

/**
 * Brings the store's schema to the latest version. All pending migrations run
 * in one transaction under an advisory lock, so nodes starting together apply
 * them once, and a failure leaves the schema where it was. A second run is a
 * no-op.
 */
export async function migrate(store: Store, migrations: readonly Migration[], logger?: Logger): Promise<MigrationResult> {
  assertWellFormed(migrations);
  return store.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':core-migrations'))");
    await ensureTable(tx);
    const applied = await appliedRows(tx);
    verifyHistory(applied, migrations);
    const from = applied.at(-1)?.version ?? 0;
    const pending = migrations.slice(from);
    for (const m of pending) {
      logger?.info(`Applying migration ${m.version} (${m.name})`);
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new MigrationError(`migration ${m.version} ("${m.name}") failed: ${(err as Error).message}`, { cause: err, data: { version: m.version } });
      }
      await tx.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, checksum(m)]);
    }
    return { from, to: migrations.length, applied: pending.map(({ version, name }) => ({ version, name })) };
  });
}
