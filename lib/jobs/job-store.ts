import { numberFrom, type Store } from "../store/store";

/**
 * - `running`: an attempt is under way (or its node died during it: the
 *   message comes back after the ack wait).
 * - `failed`: the last attempt failed and another is scheduled.
 * - `completed`: done; its consultation is `consultationId`. Final.
 * - `dead`: given up and published on the dead-letter subject.
 */
export type JobStatus = "running" | "completed" | "failed" | "dead";

/** An error as a job row keeps it. */
export interface JobError {
  code: string;
  message: string;
  status?: number;
  /** The error's data: each expert's outcome of a missed quorum, the failing fields of an invalid job. */
  details?: Record<string, unknown>;
}

export interface JobRecord {
  id: string;
  status: JobStatus;
  /** The attempt the row was last written by (1-based). */
  attempts: number;
  streamSeq: number | undefined;
  consultationId: string | undefined;
  principal: string | undefined;
  /** The node that last wrote the row. */
  node: string;
  error: JobError | undefined;
  createdAt: string;
  updatedAt: string;
  completedAt: string | undefined;
}

/** One attempt of one job, as the node running it knows it. */
export interface JobAttempt {
  id: string;
  /** 1-based: the message's delivery count. */
  attempt: number;
  /** The stream sequence of the message being run. */
  streamSeq: number;
  node: string;
}

/** What `begin` found: run it, or it is already settled. */
export type JobClaim =
  | { state: "started" }
  | { state: "completed"; record: JobRecord }
  /** Dead-lettered from this very message (a crash came between the dead-letter publish and the term): not to run again. */
  | { state: "dead"; record: JobRecord };

type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const optional = <T>(v: unknown, f: (v: unknown) => T): T | undefined => (v === null || v === undefined ? undefined : f(v));

function toRecord(row: Row): JobRecord {
  return {
    id: String(row.id),
    status: row.status as JobStatus,
    attempts: numberFrom(row.attempts),
    streamSeq: optional(row.stream_seq, numberFrom),
    consultationId: optional(row.consultation_id, String),
    principal: optional(row.principal, String),
    node: String(row.node),
    error: optional(row.error, (e) => (typeof e === "string" ? JSON.parse(e) : e) as JobError),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    completedAt: optional(row.completed_at, iso),
  };
}

const COLUMNS = "id, status, attempts, stream_seq, consultation_id, principal, node, error, created_at, updated_at, completed_at";

/**
 * The `jobs` table (migration 4). Every write is one statement, an upsert
 * guarded by the row's status, so nodes racing on one job (a redelivery while
 * a stalled node still runs it, two completions at once) settle it once:
 * PostgreSQL re-checks the guard against the row as the winner left it.
 */
export class JobStore {
  constructor(private readonly store: Store) {}

  /**
   * Marks an attempt as running unless the job is settled: completed (ever),
   * or dead-lettered from this same stream message. A dead job published
   * again (a new message with the same id) runs again.
   */
  async begin(a: JobAttempt): Promise<JobClaim> {
    const res = await this.store.query<Row>(
      `INSERT INTO jobs AS j (id, status, attempts, stream_seq, node) VALUES ($1, 'running', $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET status = 'running', attempts = EXCLUDED.attempts, stream_seq = EXCLUDED.stream_seq, node = EXCLUDED.node, updated_at = now()
       WHERE j.status <> 'completed' AND NOT (j.status = 'dead' AND j.stream_seq IS NOT DISTINCT FROM EXCLUDED.stream_seq)
       RETURNING j.id`,
      [a.id, a.attempt, a.streamSeq, a.node],
    );
    if (res.rowCount > 0) return { state: "started" };
    const record = await this.get(a.id);
    if (!record) throw new Error(`job ${a.id} was neither started nor found`);
    return record.status === "completed" ? { state: "completed", record } : { state: "dead", record };
  }

  /**
   * Records the job's completion, at most once ever: true when this call
   * recorded it, false when the job was already completed (by this or any
   * node). Only the caller that got true may announce the completion.
   */
  async complete(a: JobAttempt & { consultationId: string; principal: string }): Promise<boolean> {
    const res = await this.store.query(
      `INSERT INTO jobs AS j (id, status, attempts, stream_seq, consultation_id, principal, node, completed_at)
       VALUES ($1, 'completed', $2, $3, $4, $5, $6, now())
       ON CONFLICT (id) DO UPDATE SET status = 'completed', attempts = EXCLUDED.attempts, stream_seq = EXCLUDED.stream_seq,
         consultation_id = EXCLUDED.consultation_id, principal = EXCLUDED.principal, node = EXCLUDED.node, error = NULL,
         updated_at = now(), completed_at = now()
       WHERE j.status <> 'completed'
       RETURNING j.id`,
      [a.id, a.attempt, a.streamSeq, a.consultationId, a.principal, a.node],
    );
    return res.rowCount > 0;
  }

  /** Records a failed attempt that will be retried; false when the job is settled meanwhile (completed or dead). */
  async fail(a: JobAttempt & { principal: string | undefined; error: JobError }): Promise<boolean> {
    const res = await this.store.query(
      `INSERT INTO jobs AS j (id, status, attempts, stream_seq, principal, node, error) VALUES ($1, 'failed', $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (id) DO UPDATE SET status = 'failed', attempts = EXCLUDED.attempts, stream_seq = EXCLUDED.stream_seq,
         principal = COALESCE(EXCLUDED.principal, j.principal), node = EXCLUDED.node, error = EXCLUDED.error, updated_at = now()
       WHERE j.status NOT IN ('completed', 'dead')
       RETURNING j.id`,
      [a.id, a.attempt, a.streamSeq, a.principal ?? null, a.node, JSON.stringify(a.error)],
    );
    return res.rowCount > 0;
  }

  /** Records that the job is given up (dead-lettered); false when it was completed meanwhile (a completion is never undone). */
  async markDead(a: JobAttempt & { principal: string | undefined; error: JobError }): Promise<boolean> {
    const res = await this.store.query(
      `INSERT INTO jobs AS j (id, status, attempts, stream_seq, principal, node, error) VALUES ($1, 'dead', $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (id) DO UPDATE SET status = 'dead', attempts = EXCLUDED.attempts, stream_seq = EXCLUDED.stream_seq,
         principal = COALESCE(EXCLUDED.principal, j.principal), node = EXCLUDED.node, error = EXCLUDED.error, updated_at = now()
       WHERE j.status <> 'completed'
       RETURNING j.id`,
      [a.id, a.attempt, a.streamSeq, a.principal ?? null, a.node, JSON.stringify(a.error)],
    );
    return res.rowCount > 0;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const res = await this.store.query<Row>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }
}
