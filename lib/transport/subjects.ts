/**
 * The NATS names other systems use to reach CORE (DESIGN §8, §11), all under
 * one prefix (CORE_SUBJECT_PREFIX, "core"): request/reply subjects served by a
 * queue group, the durable jobs stream and the events subjects. Moleculer's
 * own transporter subjects (`MOL-…`) are internal and not among them.
 */
export interface CoreSubjects {
  readonly prefix: string;
  /** Request/reply: a consult. */
  readonly consult: string;
  /** Request/reply: one MCP tool call. */
  readonly mcpCall: string;
  /** Request/reply: the configured experts. */
  readonly expertsList: string;
  /** The queue group every node's ingress joins, so each request is served once. */
  readonly ingressQueue: string;
  /** JetStream stream holding durable jobs (`CORE_JOBS` for the prefix `core`). */
  readonly jobsStream: string;
  /** What the jobs stream captures (`core.jobs.>`). */
  readonly jobsWildcard: string;
  /** Where a consult job is published. */
  readonly consultJob: string;
  /** Where a job goes after its last failed attempt (outside the jobs stream's subjects). */
  readonly deadLetter: string;
  /** Everything CORE publishes about itself (`core.events.>`). */
  readonly eventsWildcard: string;
  /** One event's subject, e.g. `event("jobs.completed")` → `core.events.jobs.completed`. */
  event(name: string): string;
}

export function coreSubjects(prefix: string): CoreSubjects {
  return {
    prefix,
    consult: `${prefix}.v1.consult`,
    mcpCall: `${prefix}.v1.mcp.call`,
    expertsList: `${prefix}.v1.experts.list`,
    ingressQueue: `${prefix}-ingress`,
    jobsStream: `${prefix.toUpperCase().replace(/-/g, "_")}_JOBS`,
    jobsWildcard: `${prefix}.jobs.>`,
    consultJob: `${prefix}.jobs.consult`,
    deadLetter: `${prefix}.dlq.jobs`,
    eventsWildcard: `${prefix}.events.>`,
    event: (name) => `${prefix}.events.${name}`,
  };
}
