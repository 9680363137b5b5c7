import {
  ActionNotFoundError,
  CoreError,
  DeadlineExceededError,
  ForeignCoreError,
  InternalError,
  isPlainCoreError,
  fromPlainError,
  UnavailableError,
  ValidationError,
  type FieldIssue,
} from "../lib/errors";

interface MoleculerLikeError {
  message?: string;
  code?: unknown;
  type?: unknown;
  data?: unknown;
  retryable?: unknown;
}

/** Moleculer's validator reports `[{ field, message, type, actual }]`. */
function validatorIssues(data: unknown): FieldIssue[] {
  if (!Array.isArray(data)) return [];
  return data.map((item: { field?: unknown; message?: unknown; actual?: unknown }) => ({
    field: String(item.field ?? ""),
    message: String(item.message ?? "is invalid"),
    ...(item.actual === undefined ? {} : { received: item.actual }),
  }));
}

/** Moleculer and moleculer-web error types whose CORE code differs from the type. */
const RENAMED: Record<string, string> = {
  UNAUTHORIZED: "UNAUTHENTICATED",
  ERR_NO_TOKEN: "UNAUTHENTICATED",
  ERR_INVALID_TOKEN: "UNAUTHENTICATED",
  RATE_LIMIT_EXCEEDED: "RATE_LIMITED",
  "entity.too.large": "PAYLOAD_TOO_LARGE",
};

/**
 * Turns whatever a call threw into a CoreError: CORE errors pass through;
 * Moleculer's and moleculer-web's errors (numeric `code`, string `type`) get a
 * CORE code; anything else is an INTERNAL error whose detail stays in the log.
 */
export function toCoreError(err: unknown): CoreError {
  if (err instanceof CoreError) return err;
  if (isPlainCoreError(err)) return fromPlainError(err);
  const e = (err ?? {}) as MoleculerLikeError;
  const type = typeof e.type === "string" ? e.type : undefined;
  const status = typeof e.code === "number" ? e.code : undefined;
  const message = e.message ?? "Request failed";
  switch (type) {
    case "SERVICE_NOT_FOUND":
      // Retryable as Moleculer says: an actor between two incarnations is briefly not found.
      return new ActionNotFoundError(message, { data: (e.data as Record<string, unknown>) ?? {}, retryable: e.retryable === true });
    case "SERVICE_NOT_AVAILABLE":
    case "QUEUE_FULL":
    case "REQUEST_REJECTED": // the node the call went to left the cluster
    case "BAD_GATEWAY":
    case "BROKER_DISCONNECTED":
      return new UnavailableError(message, { data: (e.data as Record<string, unknown>) ?? {} });
    case "REQUEST_TIMEOUT":
    case "REQUEST_SKIPPED":
      return new DeadlineExceededError(message, { data: (e.data as Record<string, unknown>) ?? {} });
    case "VALIDATION_ERROR":
      return new ValidationError("Parameters are invalid", { issues: validatorIssues(e.data) });
  }
  // moleculer-web's ServiceUnavailableError (no type), e.g. a route whose action no node runs.
  if (status === 503) return new UnavailableError(message, { data: {} });
  if (type && status && status >= 400 && status < 500) {
    return new ForeignCoreError({
      code: RENAMED[type] ?? type.toUpperCase().replace(/[^A-Z0-9]+/g, "_"),
      status,
      message,
      retryable: e.retryable === true,
      data: {},
    });
  }
  return new InternalError("Internal error", { cause: err, retryable: e.retryable === true });
}
