import type { JsonObject } from "./canonical-json";

/** How the audited action ended. */
export const AUDIT_OUTCOMES = ["ok", "denied", "failed", "invalid"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a caller records: who did what, to what, from where, with what outcome. */
export interface AuditEntry {
  /** Who: e.g. `user:<id>`, `key:<id>`, `anonymous`, `system`. */
  principal: string;
  /** What: e.g. `auth.login`, `keys.create`, `circle.consult`, `mcp.call`. */
  action: string;
  /** To what: a key id, a user, a tool. */
  target?: string | null;
  /** From where: the client address, or the entry point (cli, nats). */
  source?: string | null;
  outcome: AuditOutcome;
  requestId?: string | null;
  /** Anything else worth keeping; secrets are redacted before it is stored. */
  details?: Record<string, unknown>;
  /** Defaults to the moment the row is appended. */
  at?: Date;
}

/** A stored row of the audit log. */
export interface AuditRecord {
  seq: number;
  at: Date;
  principal: string;
  action: string;
  target: string | null;
  source: string | null;
  /** Text as stored: rows written by other versions may hold outcomes this one does not name. */
  outcome: string;
  requestId: string | null;
  details: JsonObject;
  prevHash: string;
  hash: string;
}

/** A row as both drivers hand it over (pg: bigint as string; PGlite: number). */
export interface AuditRow {
  seq: string | number | bigint;
  at: Date | string;
  principal: string;
  action: string;
  target: string | null;
  source: string | null;
  outcome: string;
  request_id: string | null;
  details: unknown;
  prev_hash: string;
  hash: string;
}

export const AUDIT_COLUMNS = "seq, at, principal, action, target, source, outcome, request_id, details, prev_hash, hash";

export function recordFromRow(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: row.at instanceof Date ? row.at : new Date(row.at),
    principal: row.principal,
    action: row.action,
    target: row.target,
    source: row.source,
    outcome: row.outcome,
    requestId: row.request_id,
    details: (typeof row.details === "string" ? JSON.parse(row.details) : row.details) as JsonObject,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
