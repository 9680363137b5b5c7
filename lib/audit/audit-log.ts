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

/** A row ready to be chained: its fields checked and redacted. */
interface PendingRow {
  fields: StorableFields;
  at: Date | undefined;
}

/** The end of the chain: the last row's seq and hash (seq 0 and the genesis hash for an empty log). */
interface ChainHead {
  seq: number;
  hash: string;
}

const UNIQUE_VIOLATION = "23505";

const logs = new WeakMap<Store, AuditLog>();

/** The record of each row, linked from `head`, their time `now` unless they carry their own. */
function chainFrom(head: ChainHead, rows: readonly PendingRow[], now: Date): AuditRecord[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return rows.map(({ fields, at }): AuditRecord => {
    const unhashed = { seq: ++seq, at: at ?? now, ...fields, prevHash };
    const record = { ...unhashed, hash: auditHash(unhashed) };
    prevHash = record.hash;
    return record;
  });
}

/** `$n` placeholders and their values for the records' tuples (every one typed: they may sit in a VALUES list of a SELECT). */
function tuplesOf(records: readonly AuditRecord[], values: unknown[]): string {
  return records
    .map((r) => {
      const n = values.push(r.seq, r.at.toISOString(), r.principal, r.action, r.target, r.source, r.outcome, r.requestId, JSON.stringify(r.details), r.prevHash, r.hash);
      const p = (i: number) => `$${n - 11 + i}`;
      return `(${p(1)}::bigint, ${p(2)}::timestamptz, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::text, ${p(7)}::text, ${p(8)}::text, ${p(9)}::jsonb, ${p(10)}::text, ${p(11)}::text)`;
    })
    .join(", ");
}

/**
 * The append-only, hash-chained audit trail (table `audit_log`, migration 3).
 * Appends from any number of nodes form one linear chain; the primary key on
 * seq refuses a fork whatever happens.
 *
 * Every append holds the schema's advisory lock to its commit. A log
 * remembers the chain's end it last wrote, and its next append is one INSERT
 * (one round trip) of the rows after it, on the condition that this end is
 * still the chain's end. When it is not (another node appended meanwhile) or
 * not known, the append runs in a transaction that takes the lock, then reads
 * the chain's end and inserts after it (five round trips). One log's own
 * appends run one at a time.
 */
export class AuditLog {
  private readonly lockKey: string;
  private head: ChainHead | undefined;
  /** The last of this log's appends: the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly store: Store) {
    this.lockKey = auditLockKey(store.schema);
  }

  /** The log of a store, one per node: its appends share the chain's end they remember (two would keep refusing each other's). */
  static of(store: Store): AuditLog {
    let log = logs.get(store);
    if (!log) {
      log = new AuditLog(store);
      logs.set(store, log);
    }
    return log;
  }

  /**
   * Stores one entry and returns the row as stored. Awaited on purpose: for a
   * login or a key change the audit row is part of the outcome, so a failure
   * reaches the caller, which decides.
   */
  async append(entry: AuditEntry): Promise<AuditRecord> {
    return (await this.appendRows([{ fields: storableFields(entry), at: entry.at }]))[0]!;
  }

  /**
   * Stores several entries at once, in order, as consecutive rows (AuditQueue
   * groups the edge's rows this way). An invalid entry fails the whole batch
   * before anything is written.
   */
  async appendMany(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    if (entries.length === 0) return [];
    return this.appendRows(entries.map((entry) => ({ fields: storableFields(entry), at: entry.at })));
  }

  /**
   * Appends inside the caller's transaction, so the row commits or rolls back
   * with the change it records (a key created and its audit row, or neither).
   * The append lock is then held until that transaction ends: keep it short.
   */
  async appendWithin(tx: Queryable, entry: AuditEntry): Promise<AuditRecord> {
    // Whether this row commits is the caller's: the end this log knew is no longer sure.
    this.head = undefined;
    return (await this.insertLocked(tx, [{ fields: storableFields(entry), at: entry.at }]))[0]!;
  }

  private appendRows(rows: readonly PendingRow[]): Promise<AuditRecord[]> {
    const appended = this.tail.then(async () => {
      const records = (this.head && (await this.insertAfter(this.head, rows))) || (await this.store.transaction((tx) => this.insertLocked(tx, rows)));
      const last = records.at(-1)!;
      this.head = { seq: last.seq, hash: last.hash };
      return records;
    });
    this.tail = appended.catch(() => undefined);
    return appended;
  }

  /**
   * One INSERT of the rows after `head`, which inserts nothing unless the row
   * `head` names is there (an empty log for seq 0); a row already holding the
   * next seq refuses it. Undefined when it inserted nothing: the chain moved on.
   */
  private async insertAfter(head: ChainHead, rows: readonly PendingRow[]): Promise<AuditRecord[] | undefined> {
    const records = chainFrom(head, rows, new Date());
    const values: unknown[] = [];
    const tuples = tuplesOf(records, values);
    const headIsThere =
      head.seq === 0 ? "NOT EXISTS (SELECT 1 FROM audit_log)" : `EXISTS (SELECT 1 FROM audit_log WHERE seq = $${values.push(head.seq)} AND hash = $${values.push(head.hash)})`;
    // The lock too, held to the commit, so a locked append never reads an end this insert is about to pass.
    const lock = `$${values.push(this.lockKey)}::bigint`;
    try {
      const res = await this.store.query(
        `WITH locked AS (SELECT pg_advisory_xact_lock(${lock}))
         INSERT INTO audit_log (${AUDIT_COLUMNS}) SELECT v.* FROM (VALUES ${tuples}) AS v WHERE (SELECT count(*) FROM locked) = 1 AND ${headIsThere}`,
        values,
      );
      return res.rowCount === records.length ? records : undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) return undefined;
      throw err;
    }
  }

  private async insertLocked(tx: Queryable, rows: readonly PendingRow[]): Promise<AuditRecord[]> {
    // A statement of its own: under READ COMMITTED the next statement then
    // takes its snapshot after the lock is held and sees the previous
    // holder's row. (In one statement the snapshot would predate the lock.)
    await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.lockKey]);
    const last = await tx.query<{ seq: string | number; hash: string }>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    const head = last.rows[0] ? { seq: Number(last.rows[0].seq), hash: last.rows[0].hash } : { seq: 0, hash: GENESIS_HASH };
    // Taken under the lock, so on one node's clock time follows seq.
    const records = chainFrom(head, rows, new Date());
    const values: unknown[] = [];
    await tx.query(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ${tuplesOf(records, values)}`, values);
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
