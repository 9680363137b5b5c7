import { errorClassFor, type CoreError } from "../errors";
import { backoffDelay, type BackoffPolicy } from "../resilience/backoff";

/**
 * Codes that are not retryable within one request (its caller has a deadline
 * and a person waiting) but are worth another attempt of a durable job a few
 * seconds later: a breaker that will half-open, an actor between two
 * incarnations or overloaded, a consult that ran out of time.
 */
const TRANSIENT_FOR_JOBS = new Set(["CIRCUIT_OPEN", "ACTOR_OVERLOADED", "ACTION_NOT_FOUND", "DEADLINE_EXCEEDED", "UNAVAILABLE"]);

/**
 * Whether a kind of error (its code) is transient: one of the codes above, or
 * one whose class is retryable. The flag on the error itself is not enough:
 * an expert whose own retries are spent answers with its error marked not
 * retryable (so no caller retries the chain at once), though the same
 * PROVIDER_UNAVAILABLE may well pass a few seconds later.
 */
function transientCode(code: unknown): boolean {
  if (typeof code !== "string") return false;
  const cls = errorClassFor(code) as { retryable?: boolean } | undefined;
  return TRANSIENT_FOR_JOBS.has(code) || cls?.retryable === true;
}

interface OutcomeLike {
  status?: unknown;
  error?: { code?: unknown; retryable?: unknown };
}

/** An expert's failure (or lateness) in a consult that another attempt may not repeat. */
function transientOutcome(outcome: OutcomeLike): boolean {
  if (outcome.status === "late") return true;
  if (outcome.status !== "failed") return false;
  return outcome.error?.retryable === true || transientCode(outcome.error?.code);
}

/**
 * Whether another attempt of a job can succeed where this one failed:
 * retryable errors, the transient codes above, and a missed quorum when some
 * expert failed for a transient reason (a 5xx, a timeout, an open breaker).
 * A missed quorum whose experts all failed for good (a rejected key, a bad
 * request) is not retried, nor are invalid jobs, refused credentials (401/403)
 * or an exhausted budget.
 */
export function retryableForJobs(err: CoreError): boolean {
  if (err.retryable || transientCode(err.code)) return true;
  if (err.code === "QUORUM_NOT_REACHED") {
    const experts = err.data.experts;
    return Array.isArray(experts) && experts.some((o) => typeof o === "object" && o !== null && transientOutcome(o as OutcomeLike));
  }
  return false;
}

export type FailureDecision =
  | { retry: true; delayMs: number }
  | { retry: false; why: "not retryable" | "last attempt" };

/** The first retry a second after the failure, doubling up to a minute (jittered: see lib/resilience/backoff). */
export const DEFAULT_JOB_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2 };

/**
 * How many times a job is attempted and how long it waits between attempts.
 *
 * JetStream's own count is `maxDeliver`, one more than the attempts: the
 * server drops a message silently after its last delivery (an advisory is
 * all that is left of it), so a job whose last attempt died with its node
 * would vanish. The extra delivery runs nothing: it dead-letters the job
 * (`exhausted`).
 */
export class JobPolicy {
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  private readonly random: () => number;

  constructor(options: { maxAttempts: number; backoff?: BackoffPolicy; random?: () => number }) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, not ${options.maxAttempts}`);
    this.maxAttempts = options.maxAttempts;
    this.backoff = options.backoff ?? DEFAULT_JOB_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  /** The consumer's max_deliver. */
  get maxDeliver(): number {
    return this.maxAttempts + 1;
  }

  /** True for a delivery past the last attempt: that attempt never reported (see the class comment). */
  exhausted(deliveryCount: number): boolean {
    return deliveryCount > this.maxAttempts;
  }

  /** What to do after attempt `attempt` (1-based) failed with `err`. */
  afterFailure(err: CoreError, attempt: number): FailureDecision {
    if (!retryableForJobs(err)) return { retry: false, why: "not retryable" };
    if (attempt >= this.maxAttempts) return { retry: false, why: "last attempt" };
    return { retry: true, delayMs: this.delayAfter(attempt) };
  }

  /** The wait before the attempt after `attempt`. */
  delayAfter(attempt: number): number {
    return backoffDelay(attempt, this.backoff, this.random);
  }
}
