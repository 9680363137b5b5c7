import { randomBytes } from "node:crypto";

/**
 * A name no other test file (or earlier run) uses: lower-case, SQL- and
 * NATS-subject-safe. Each test file derives its namespace, schema and Redis
 * prefix from one, so files run in parallel without touching each other.
 */
export function uniqueName(tag: string): string {
  const safe = tag.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 24);
  return `t_${safe}_${process.pid}_${randomBytes(3).toString("hex")}`;
}
