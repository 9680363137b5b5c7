import type { Queryable } from "../store/store";
import { auditHash, GENESIS_HASH } from "./audit-hash";
import { AUDIT_COLUMNS, recordFromRow, type AuditRow } from "./audit-record";

export type AuditBreakReason = "gap in sequence" | "prev_hash does not match previous row" | "hash mismatch";

/** The first link that does not hold. */
export interface AuditBreak {
  /** The row to look at: the changed row, or for a gap the first missing seq. */
  seq: number;
  reason: AuditBreakReason;
  /** One sentence for an operator. */
  message: string;
}

export type AuditVerification =
  /** `head`: the last row, worth recording elsewhere — the chain alone cannot show rows cut off its end. */
  | { ok: true; rows: number; head: { seq: number; hash: string } | null }
  /** `rows`: how many rows held before the break. */
  | { ok: false; rows: number; firstBroken: AuditBreak };

export interface VerifyOptions {
  /** Rows read per query (default 1000): memory stays flat however long the log is. */
  batchSize?: number;
  /** Called after each batch with the rows checked so far. */
  onProgress?: (rows: number) => void;
}

/**
 * Walks the audit log in seq order, batch by batch, and checks every link:
 * seq follows seq without a gap from 1, each row's prev_hash is the previous
 * row's hash (the genesis value for the first), and each row's hash is the
 * hash of its own fields. Stops at the first break. Appends running meanwhile
 * are fine: seqs are committed in order, so what is visible is always a prefix.
 */
export async function verifyAuditLog(db: Queryable, options: VerifyOptions = {}): Promise<AuditVerification> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1000));
  let rows = 0;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const res = await db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2`, [expectedSeq, batchSize]);
    for (const row of res.rows) {
      const record = recordFromRow(row);
      const firstBroken = check(record, expectedSeq, prevHash);
      if (firstBroken) return { ok: false, rows, firstBroken };
      rows++;
      expectedSeq = record.seq + 1;
      prevHash = record.hash;
    }
    options.onProgress?.(rows);
    if (res.rows.length < batchSize) break;
  }
  return { ok: true, rows, head: rows === 0 ? null : { seq: expectedSeq - 1, hash: prevHash } };
}

function check(record: ReturnType<typeof recordFromRow>, expectedSeq: number, prevHash: string): AuditBreak | undefined {
  if (record.seq !== expectedSeq) {
    const missing = record.seq - 1 === expectedSeq ? `row ${expectedSeq} is missing` : `rows ${expectedSeq}–${record.seq - 1} are missing`;
    const where = expectedSeq === 1 ? `the log starts at row ${record.seq}` : `row ${expectedSeq - 1} is followed by row ${record.seq}`;
    return { seq: expectedSeq, reason: "gap in sequence", message: `${missing}: ${where}` };
  }
  if (record.prevHash !== prevHash) {
    return {
      seq: record.seq,
      reason: "prev_hash does not match previous row",
      message:
        record.seq === 1
          ? "row 1 does not start the chain (its prev_hash is not the genesis value)"
          : `row ${record.seq} does not follow row ${record.seq - 1} (its prev_hash is not that row's hash): row ${record.seq - 1} was rewritten, or rows were replaced`,
    };
  }
  const { hash, ...fields } = record;
  if (auditHash(fields) !== hash) {
    return { seq: record.seq, reason: "hash mismatch", message: `row ${record.seq} was changed after it was written (its content does not match its hash)` };
  }
  return undefined;
}
