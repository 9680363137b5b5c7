import type { ServerResponse } from "node:http";
import { CoreError, fromPlainError, InternalError, isPlainCoreError, ValidationError, retryAfterSeconds, type ErrorData } from "../errors";

/**
 * An error as `/v1` answers it: OpenAI's shape, which OpenAI clients read
 * (`message`, `type`, `param`, `code`), carrying CORE's own stable `code`
 * (VALIDATION_FAILED, NOT_FOUND, BUDGET_EXCEEDED, …; the same codes as
 * `/api/v1`), the request id and, like CORE's other errors, `details`.
 */
export interface OpenAiErrorBody {
  error: {
    message: string;
    /** OpenAI's error type for the status (invalid_request_error, authentication_error, …). */
    type: string;
    /** The request field at fault (`messages[0].content`), else null. */
    param: string | null;
    /** CORE's error code. */
    code: string;
    requestId?: string;
    details?: ErrorData;
  };
}

export interface OpenAiErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: OpenAiErrorBody;
}

/** OpenAI's error types, by status (what OpenAI answers with for the same status). */
export function openAiErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** A CoreError for anything thrown: CORE errors as they are, plain ones rebuilt, the rest INTERNAL (detail kept as the cause, for the log). */
export function asCoreError(err: unknown): CoreError {
  if (err instanceof CoreError) return err;
  if (isPlainCoreError(err)) return fromPlainError(err);
  return new InternalError("Internal error", { cause: err });
}

export function openAiErrorBody(err: CoreError, requestId?: string): OpenAiErrorBody {
  const issues = err instanceof ValidationError ? err.issues : [];
  const details = Object.keys(err.data).length > 0 ? err.data : undefined;
  return {
    error: {
      message: err.message + (issues.length > 0 ? `: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}` : ""),
      type: openAiErrorType(err.status),
      param: issues[0]?.field || null,
      code: err.code,
      ...(requestId ? { requestId } : {}),
      ...(details ? { details } : {}),
    },
  };
}

/**
 * Status, headers and body for `err`. `x-should-retry` tells OpenAI clients
 * (which otherwise retry every 429 and 5xx on their own) whether a retry can
 * help, by CORE's `retryable`: a failed consult is not run again at the
 * caller's expense, an overloaded node is. `Retry-After` when the error says.
 */
export function openAiErrorResponse(err: CoreError, requestId?: string): OpenAiErrorResponse {
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8", "x-should-retry": String(err.retryable) };
  const retryAfterSec = retryAfterSeconds(err);
  if (retryAfterSec !== undefined) headers["Retry-After"] = String(retryAfterSec);
  if (requestId) headers["X-Request-Id"] = requestId;
  return { status: err.status, headers, body: openAiErrorBody(err, requestId) };
}

/**
 * Writes `err` as the answer: a `/v1` route's `onError` calls it with the
 * request's id (`onError(req, res, err) { sendOpenAiError(res, toCoreError(err), req.$requestId) }`).
 * When the answer had already begun (a stream), the connection is ended: an
 * SSE stream reports its own errors in band.
 */
export function sendOpenAiError(res: ServerResponse, err: CoreError, requestId?: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const { status, headers, body } = openAiErrorResponse(err, requestId);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
  res.end(JSON.stringify(body));
}
