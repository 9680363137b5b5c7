import type { Migration } from "../migration";

/**
 * Durable consult jobs (lib/jobs): one row per job id (the message's
 * Nats-Msg-Id), written by whichever node runs an attempt. The row is what
 * makes a job complete exactly once: its completion is one guarded upsert
 * (lib/jobs/job-store.ts), and a redelivered message whose row says completed
 * is acknowledged without running again. No foreign key to consultations: the
 * consultation is written by the circle, possibly through another connection
 * or later (write-behind), and a job row must never fail for that.
 */
export const migration: Migration = {
  version: 4,
  name: "jobs",
  sql: `
CREATE TABLE jobs (
  id              text PRIMARY KEY,
  status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'dead')),
  attempts        integer NOT NULL,
  -- The stream message of the current run: a redelivery of a dead-lettered message is told from a new publication by it.
  stream_seq      bigint,
  consultation_id uuid,
  principal       text,
  node            text NOT NULL,
  error           jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz
);
CREATE INDEX jobs_status_updated_at ON jobs (status, updated_at DESC);
`,
};
