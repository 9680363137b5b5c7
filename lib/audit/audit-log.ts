import { createHash } from "node:crypto";
import { ValidationError } from "../errors";
import { redact } from "../security/redact";
import type { Queryable, Store } from "../store/store";
import { auditHash, GENESIS_HASH } from "./audit-hash";
import { AUDIT_COLUMNS, recordFromRow, type AuditEntry, type AuditRecord, type AuditRow } from "./audit-record";
import { storableText, toStorableJsonObject } from "./canonical-json";
import { verifyAuditLog, type AuditVerification, type VerifyOptions } from "./verify-audit-log";

/**
 * The advisory-lock key that serialises appends to one schema's audit log: a
 * constant per schema, 64 bits of SHA-256 so it does not collide with other
 * locks (the migrator's, other schemas' logs) by accident.
 */
export function auditLockKey(schema: string): string {
  return createHash("sha256").update(`core-audit-log:${schema}`).digest().readBigInt64BE(0).toString();
}

function text(value: string | null | undefined): string | null {
  return value === undefined || value === null ? null : storableText(value);
}

type StorableFields = Pick<AuditRecord, "principal" | "action" | "target" | "source" | "outcome" | "requestId" | "details">;

/** The entry checked, its details redacted, its text as PostgreSQL will give it back. */
function storableFields(entry: AuditEntry): StorableFields {
  if (entry.at !== undefined && !(entry.at instanceof Date && Number.isFinite(entry.at.getTime()))) {
    throw new ValidationError("audit entry has an invalid time", { issues: [{ field: "at", message: "not a valid date" }] });
  }
  for (const field of ["principal", "action", "outcome"] as const) {
    if (typeof entry[field] !== "string" || entry[field] === "") {
      throw new ValidationError(`audit entry needs a ${field}`, { issues: [{ field, message: "required" }] });
    }
  }
  return {
    principal: storableText(entry.principal),
    action: storableText(entry.action),
    target: text(entry.target),
    source: text(entry.source),
    outcome: storableText(entry.outcome),
    requestId: text(entry.requestId),
    details: toStorableJsonObject(redact(entry.details ?? {})),
  };
}

/**
 * The append-only, hash-chained audit trail (table `audit_log`, migration 3).
 * Appends from any number of nodes form one linear chain: each runs in a
 * transaction holding the schema's advisory lock while it reads the last row
 * and inserts the next (the primary key on seq would refuse a fork anyway).
 */
export class AuditLog {
  private readonly lockKey: string;

  constructor(readonly store: Store) {
    this.lockKey = auditLockKey(store.schema);
  }

  /**
   * Stores one entry and returns the row as stored. Awaited on purpose: for a
   * login or a key change the audit row is part of the outcome, so a failure
   * reaches the caller, which decides.
   */
  async append(entry: AuditEntry): Promise<AuditRecord> {
    const fields = storableFields(entry);
    return this.store.transaction(async (tx) => (await this.insertNext(tx, [{ fields, at: entry.at }]))[0]!);
  }

  /**
   * Stores several entries in one transaction, in order, as consecutive rows:
   * one lock, one read of the chain's end and one INSERT however many there
   * are (AuditQueue groups the edge's rows this way). An invalid entry fails
   * the whole batch before anything is written.
   */
  async appendMany(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    if (entries.length === 0) return [];
    const rows = entries.map((entry) => ({ fields: storableFields(entry), at: entry.at }));
    return this.store.transaction((tx) => this.insertNext(tx, rows));
  }

  /**
   * Appends inside the caller's transaction, so the row commits or rolls back
   * with the change it records (a key created and its audit row, or neither).
   * The append lock is then held until that transaction ends: keep it short.
   */
  async appendWithin(tx: Queryable, entry: AuditEntry): Promise<AuditRecord> {
    return (await this.insertNext(tx, [{ fields: storableFields(entry), at: entry.at }]))[0]!;
  }

  private async insertNext(tx: Queryable, rows: ReadonlyArray<{ fields: StorableFields; at: Date | undefined }>): Promise<AuditRecord[]> {
    // A statement of its own: under READ COMMITTED the next statement then
    // takes its snapshot after the lock is held and sees the previous
    // holder's row. (In one statement the snapshot would predate the lock.)
    await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.lockKey]);
    const last = await tx.query<{ seq: string | number; hash: string }>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    let seq = last.rows[0] ? Number(last.rows[0].seq) : 0;
    let prevHash = last.rows[0]?.hash ?? GENESIS_HASH;
    // Taken under the lock, so on one node's clock time follows seq.
    const now = new Date();
    const records = rows.map(({ fields, at }): AuditRecord => {
      const unhashed = { seq: ++seq, at: at ?? now, ...fields, prevHash };
      const record = { ...unhashed, hash: auditHash(unhashed) };
      prevHash = record.hash;
      return record;
    });
    const values: unknown[] = [];
    const tuples = records.map((r) => {
      const n = values.push(r.seq, r.at.toISOString(), r.principal, r.action, r.target, r.source, r.outcome, r.requestId, JSON.stringify(r.details), r.prevHash, r.hash);
      const p = (i: number) => `$${n - 11 + i}`;
      return `(${p(1)}, ${p(2)}::timestamptz, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}::jsonb, ${p(10)}, ${p(11)})`;
    });
    await tx.query(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ${tuples.join(", ")}`, values);
    return records;
  }

  /** Reads the rows from `afterSeq` on (exclusive), oldest first. */
  async list(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const res = await this.store.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, [
      options.afterSeq ?? 0,
      options.limit ?? 100,
    ]);
    return res.rows.map(recordFromRow);
  }

  /** Walks the whole chain; see `verifyAuditLog`. */
  verify(options?: VerifyOptions): Promise<AuditVerification> {
    return verifyAuditLog(this.store, options);
  }
}
