import { CoreError, type CoreErrorOptions, type ErrorData } from "./core-error";

/**
 * The hierarchy: one class per way a request can fail, each with a stable code,
 * an HTTP status and whether a retry can help. Later capabilities add their own
 * subclasses and register them in `registry.ts`.
 */

export class BadRequestError extends CoreError {
  static override readonly code = "BAD_REQUEST";
  static override readonly status = 400;
}

export class UnauthenticatedError extends CoreError {
  static override readonly code = "UNAUTHENTICATED";
  static override readonly status = 401;
}

export class ForbiddenError extends CoreError {
  static override readonly code = "FORBIDDEN";
  static override readonly status = 403;
}

export class NotFoundError extends CoreError {
  static override readonly code = "NOT_FOUND";
  static override readonly status = 404;
}

/** The named action or actor is not registered anywhere in the cluster. */
export class ActionNotFoundError extends CoreError {
  static override readonly code = "ACTION_NOT_FOUND";
  static override readonly status = 404;
}

/** No live node runs an actor by that name. */
export class ActorNotFoundError extends CoreError {
  static override readonly code = "ACTOR_NOT_FOUND";
  static override readonly status = 404;
}

export class ConflictError extends CoreError {
  static override readonly code = "CONFLICT";
  static override readonly status = 409;
}

export class PayloadTooLargeError extends CoreError {
  static override readonly code = "PAYLOAD_TOO_LARGE";
  static override readonly status = 413;
}

export interface FieldIssue {
  /** Dotted path of the failing field, e.g. `experts[0].provider`. */
  field: string;
  message: string;
  received?: unknown;
}

export interface IssueErrorOptions extends CoreErrorOptions {
  issues?: FieldIssue[];
}

function withIssues({ issues, ...options }: IssueErrorOptions): CoreErrorOptions {
  return issues ? { ...options, data: { ...options.data, issues } } : options;
}

export class ValidationError extends CoreError {
  static override readonly code = "VALIDATION_FAILED";
  static override readonly status = 422;

  constructor(message: string, options: IssueErrorOptions = {}) {
    super(message, withIssues(options));
  }

  get issues(): FieldIssue[] {
    return (this.data.issues as FieldIssue[] | undefined) ?? [];
  }
}

export class RateLimitedError extends CoreError {
  static override readonly code = "RATE_LIMITED";
  static override readonly status = 429;
  static override readonly retryable = true;
}

export class InternalError extends CoreError {
  static override readonly code = "INTERNAL";
  static override readonly status = 500;
}

/** A dependency (NATS, Redis, PostgreSQL, a provider) cannot be reached now. */
export class UnavailableError extends CoreError {
  static override readonly code = "UNAVAILABLE";
  static override readonly status = 503;
  static override readonly retryable = true;
}

/**
 * An actor's mailbox is full: answered at once, never queued without bound.
 * Not retryable: retrying into a full mailbox only adds load; callers back off
 * or go elsewhere.
 */
export class ActorOverloadedError extends CoreError {
  static override readonly code = "ACTOR_OVERLOADED";
  static override readonly status = 503;
}

/**
 * The node is shedding new work because its memory reached the critical level
 * (lib/monitors/memory-levels). Retryable: another node, or this one a little
 * later (`data.retryAfterSec`), can take it.
 */
export class MemoryPressureError extends CoreError {
  static override readonly code = "MEMORY_PRESSURE";
  static override readonly status = 503;
  static override readonly retryable = true;
}

/**
 * A node's NATS ingress already handles as many messages as it may
 * (CORE_INGRESS_MAX_IN_FLIGHT): answered at once instead of queued. Retryable
 * after a pause: the queue group may hand the retry to a less busy node.
 */
export class IngressOverloadedError extends CoreError {
  static override readonly code = "OVERLOADED";
  static override readonly status = 503;
  static override readonly retryable = true;
}

/** The caller's deadline passed; retrying cannot help within the same deadline. */
export class DeadlineExceededError extends CoreError {
  static override readonly code = "DEADLINE_EXCEEDED";
  static override readonly status = 504;
}

/** Configuration is invalid: start-up stops with exit code 2. */
export class ConfigError extends CoreError {
  static override readonly code = "CONFIG_INVALID";
  static override readonly status = 500;

  constructor(message: string, options: IssueErrorOptions = {}) {
    super(message, withIssues(options));
  }

  get issues(): FieldIssue[] {
    return (this.data.issues as FieldIssue[] | undefined) ?? [];
  }
}

/** The embedded data directory is held by another process. */
export class StoreLockedError extends CoreError {
  static override readonly code = "STORE_LOCKED";
  static override readonly status = 409;
}

export class MigrationError extends CoreError {
  static override readonly code = "MIGRATION_FAILED";
  static override readonly status = 500;
}

export type { ErrorData };

/*
 * A model provider's failures (lib/providers). Each carries in `data` the
 * provider, the HTTP status it answered and its own error type and message
 * (never the API key). Statuses are CORE's answer to its own caller: the
 * provider is an upstream, so most are gateway statuses.
 */

/** The provider refused CORE's credentials (401/403): fixing the key is the only cure. */
export class ProviderAuthError extends CoreError {
  static override readonly code = "PROVIDER_AUTH_FAILED";
  static override readonly status = 502;
}

/** The provider's rate limit (429); `data.retryAfterSec` is how long it asked us to wait. */
export class ProviderRateLimitedError extends CoreError {
  static override readonly code = "PROVIDER_RATE_LIMITED";
  static override readonly status = 429;
  static override readonly retryable = true;
}

/** The provider is overloaded (Anthropic 529, 503): later, or elsewhere. */
export class ProviderOverloadedError extends CoreError {
  static override readonly code = "PROVIDER_OVERLOADED";
  static override readonly status = 503;
  static override readonly retryable = true;
}

/** The provider rejected the request itself (400/404/422: unknown model, prompt too long): the same request fails again. */
export class ProviderBadRequestError extends CoreError {
  static override readonly code = "PROVIDER_BAD_REQUEST";
  static override readonly status = 502;
}

/** One attempt took longer than its own timeout while the caller's deadline still leaves time. */
export class ProviderTimeoutError extends CoreError {
  static override readonly code = "PROVIDER_TIMEOUT";
  static override readonly status = 504;
  static override readonly retryable = true;
}

/** The provider answered 5xx or could not be reached (connection refused or reset). */
export class ProviderUnavailableError extends CoreError {
  static override readonly code = "PROVIDER_UNAVAILABLE";
  static override readonly status = 502;
  static override readonly retryable = true;
}

/** The provider answered 2xx with a body CORE cannot read (malformed JSON, a stream cut short). */
export class ProviderResponseError extends CoreError {
  static override readonly code = "PROVIDER_BAD_RESPONSE";
  static override readonly status = 502;
  static override readonly retryable = true;
}

/**
 * A durable job whose last allowed attempt never reported back (its node died
 * or stalled past the ack wait): it is dead-lettered without another run.
 */
export class JobAttemptsExhaustedError extends CoreError {
  static override readonly code = "JOB_ATTEMPTS_EXHAUSTED";
  static override readonly status = 503;
}
