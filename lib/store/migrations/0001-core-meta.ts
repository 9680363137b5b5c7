import type { Migration } from "../migration";

/** Facts about this installation: its id, for logs and for telling clusters apart. */
export const migration: Migration = {
  version: 1,
  name: "core-meta",
  sql: `
CREATE TABLE core_meta (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core_meta (key, value) VALUES ('installation_id', to_jsonb(gen_random_uuid()::text));
`,
};
