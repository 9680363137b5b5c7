import { CoreError } from "./core-error";

/*
 * Failures of the Circle of Experts: consults, experts, budgets. Registered
 * with the rest in registry.ts, so they cross NATS with their codes.
 */

/** A guarded endpoint's breaker is open: the call was not made. Not retryable here; a fallback may help. */
export class CircuitOpenError extends CoreError {
  static override readonly code = "CIRCUIT_OPEN";
  static override readonly status = 503;
}

/** No expert is configured, or none of the ones asked for exists. */
export class NoExpertsError extends CoreError {
  static override readonly code = "NO_EXPERTS";
  static override readonly status = 503;
}

/** An expert id that is not configured. */
export class UnknownExpertError extends CoreError {
  static override readonly code = "UNKNOWN_EXPERT";
  static override readonly status = 404;
}

/** Fewer experts answered than the consult needed; `data.experts` says what happened to each. */
export class QuorumNotReachedError extends CoreError {
  static override readonly code = "QUORUM_NOT_REACHED";
  static override readonly status = 503;
}

/** The consult would take a principal past a budget: refused before any provider is called. */
export class BudgetExceededError extends CoreError {
  static override readonly code = "BUDGET_EXCEEDED";
  static override readonly status = 402;
}
