import type { Migration } from "../migration";

/**
 * Consultations, each expert's part in them, and every provider call's usage
 * and cost (what costs.summary and budgets read). Money is numeric(20,10):
 * exact sums to a fraction of a cent, whatever the number of calls.
 */
export const migration: Migration = {
  version: 2,
  name: "consultations",
  sql: `
CREATE TABLE consultations (
  id            uuid PRIMARY KEY,
  principal     text NOT NULL,
  question      text NOT NULL,
  system        text,
  experts       text[] NOT NULL,
  params        jsonb NOT NULL,
  status        text NOT NULL CHECK (status IN ('completed', 'failed')),
  cache_key     text NOT NULL,
  consensus     jsonb,
  agreement     double precision,
  error         jsonb,
  answered      integer NOT NULL,
  min_responses integer NOT NULL,
  input_tokens  integer NOT NULL,
  output_tokens integer NOT NULL,
  cost_usd      numeric(20, 10) NOT NULL,
  duration_ms   integer NOT NULL,
  node_id       text NOT NULL,
  created_at    timestamptz NOT NULL,
  -- Set when the answer was served from the cache: the consultation it reuses (costs nothing itself).
  cached_from   uuid
);
CREATE INDEX consultations_created_at ON consultations (created_at DESC, id DESC);
CREATE INDEX consultations_principal ON consultations (principal, created_at DESC);

CREATE TABLE expert_responses (
  consultation_id uuid NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
  position        integer NOT NULL,
  expert_id       text NOT NULL,
  status          text NOT NULL CHECK (status IN ('answered', 'failed', 'late')),
  answered_by     text,
  provider        text,
  model           text,
  text            text,
  error           jsonb,
  input_tokens    integer NOT NULL DEFAULT 0,
  output_tokens   integer NOT NULL DEFAULT 0,
  cost_usd        numeric(20, 10) NOT NULL DEFAULT 0,
  priced          boolean NOT NULL DEFAULT false,
  attempts        integer NOT NULL DEFAULT 0,
  latency_ms      integer NOT NULL,
  finish_reason   text,
  PRIMARY KEY (consultation_id, position)
);
CREATE INDEX expert_responses_expert ON expert_responses (expert_id);

CREATE TABLE usage_records (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL,
  principal       text NOT NULL,
  consultation_id uuid REFERENCES consultations (id) ON DELETE SET NULL,
  expert_id       text NOT NULL,
  provider        text NOT NULL,
  model           text NOT NULL,
  input_tokens    integer NOT NULL,
  output_tokens   integer NOT NULL,
  cost_usd        numeric(20, 10) NOT NULL,
  priced          boolean NOT NULL
);
CREATE INDEX usage_records_at ON usage_records (at);
CREATE INDEX usage_records_principal_at ON usage_records (principal, at);
`,
};
