import { createHash } from "node:crypto";
import type { AuditRecord } from "./audit-record";
import { canonicalJson } from "./canonical-json";

/** The prev_hash of the first row: no row comes before it. */
export const GENESIS_HASH = "0".repeat(64);

/** Names the encoding inside what is hashed, so a later format cannot be confused with this one. */
const FORMAT = "core-audit-v1";

/**
 * SHA-256 (hex) of a row's canonical encoding: one JSON array of the fields in
 * a fixed order, details as canonical JSON (RFC 8785). A JSON array is
 * unambiguous (strings are quoted and escaped, null differs from ""), and
 * every field survives the database round trip unchanged: `at` has
 * milliseconds only (PostgreSQL keeps µs, none are lost), details are
 * canonical whatever key order jsonb gives back, and numbers print the same
 * after jsonb's numeric.
 */
export function auditHash(record: Omit<AuditRecord, "hash">): string {
  const encoding = canonicalJson([
    FORMAT,
    record.seq,
    record.at.toISOString(),
    record.principal,
    record.action,
    record.target,
    record.source,
    record.outcome,
    record.requestId,
    record.details,
    record.prevHash,
  ]);
  return createHash("sha256").update(encoding, "utf8").digest("hex");
}
