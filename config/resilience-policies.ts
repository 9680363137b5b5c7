import type { BackoffPolicy } from "../lib/resilience/backoff";

/**
 * How calls to one kind of actor are guarded, on the caller's side (retries,
 * deadline, breaker) and on the actor's side (mailbox = bulkhead). The kind is
 * the first word of the action name: `expert.claude.ask` → `expert`.
 */
export interface ResiliencePolicy {
  /** Deadline of a call that carries none, in ms. */
  timeoutMs: number;
  /** Extra attempts after the first, for retryable errors only, within the deadline. */
  retries: number;
  backoff: BackoffPolicy;
  circuitBreaker: {
    /** Share of failed calls in the window that opens the breaker for an endpoint. */
    threshold: number;
    minRequestCount: number;
    windowTimeSec: number;
    halfOpenTimeMs: number;
  };
  /** The actor's mailbox: concurrency and waiting room (the bulkhead). */
  mailbox: { concurrency: number; capacity: number };
}

const base: ResiliencePolicy = {
  timeoutMs: 30_000,
  retries: 3,
  backoff: { initialMs: 100, maxMs: 2_000, factor: 2 },
  // Half-open after 2 s: when the whole transport blipped (every endpoint timed out at once),
  // breakers must not keep a recovered cluster dark for long.
  circuitBreaker: { threshold: 0.5, minRequestCount: 20, windowTimeSec: 60, halfOpenTimeMs: 2_000 },
  mailbox: { concurrency: 16, capacity: 256 },
};

/** Defaults per actor kind; `default` covers every other action. */
export const RESILIENCE_POLICIES: Readonly<Record<string, ResiliencePolicy>> = {
  default: base,
  // Model calls are slow and costly: a long deadline, few retries. They mostly wait on the network, so the
  // bulkhead is wide (measured by benchmarks/consult: 8 at once capped a node at about 190 consults/s).
  expert: { ...base, timeoutMs: 120_000, retries: 2, backoff: { initialMs: 500, maxMs: 8_000, factor: 2 }, mailbox: { concurrency: 64, capacity: 512 } },
  // Tool calls may have side effects: the caller retries only what the actor marks retryable, once.
  mcp: { ...base, timeoutMs: 60_000, retries: 1, mailbox: { concurrency: 8, capacity: 128 } },
  // A consult mostly waits on experts: many at once per node; never re-run by the caller (it costs money).
  circle: { ...base, timeoutMs: 120_000, retries: 0, mailbox: { concurrency: 256, capacity: 1_024 } },
  aggregator: { ...base, timeoutMs: 10_000, retries: 2, mailbox: { concurrency: 4, capacity: 256 } },
  monitor: { ...base, timeoutMs: 5_000, retries: 1, mailbox: { concurrency: 2, capacity: 16 } },
  // Moleculer's own $node actions and the supervisor: quick, idempotent reads.
  supervisor: { ...base, timeoutMs: 10_000 },
};

export function policyFor(actionName: string, policies: Readonly<Record<string, ResiliencePolicy>> = RESILIENCE_POLICIES): ResiliencePolicy {
  const kind = actionName.split(".")[0]!;
  return policies[kind] ?? policies.default ?? base;
}
