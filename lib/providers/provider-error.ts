import type { CoreError } from "../errors/core-error";
import {
  ProviderAuthError,
  ProviderBadRequestError,
  ProviderOverloadedError,
  ProviderRateLimitedError,
  ProviderResponseError,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from "../errors/errors";
import { retryAfterSec } from "./retry-after";

/** What a protocol reads out of an error body; the status decides the rest. */
export interface ProviderErrorInfo {
  /** The provider's own error type (`rate_limit_error`, `RESOURCE_EXHAUSTED`, …). */
  type?: string;
  message?: string;
  code?: string;
  /** When the body says more than the status: Gemini answers a bad key with 400, OpenAI an empty account with 429. */
  kind?: "auth" | "overloaded" | "quota";
  /** A wait asked for in the body (Gemini's RetryInfo). */
  retryAfterSec?: number;
}

export interface ProviderFailure {
  provider: string;
  /** The HTTP status, or for an error event inside a 200 stream the status its type stands for. */
  status: number;
  headers?: Headers;
  info: ProviderErrorInfo;
  /** The API key: removed from anything the error carries. */
  secret?: string;
  /** The error came as an event inside a stream that had started with 200. */
  inStream?: boolean;
}

const MAX_MESSAGE = 500;

/**
 * Removes the key and anything that looks like a masked key (OpenAI echoes
 * `sk-ab****wxyz`): errors end up in logs, stores and replies.
 */
export function redact(text: string, secret?: string): string {
  let out = secret && secret.length >= 4 ? text.split(secret).join("[redacted]") : text;
  out = out.replace(/[\w-]*\*{3,}[\w-]*/g, "[redacted]");
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

/** Maps a provider's refusal to the CORE error a caller can act on. */
export function providerError(failure: ProviderFailure): CoreError {
  const { provider, status, headers, info, secret } = failure;
  const providerMessage = info.message === undefined ? undefined : redact(info.message, secret);
  const wait = (headers && retryAfterSec(headers)) ?? info.retryAfterSec;
  const requestId = headers?.get("request-id") ?? headers?.get("x-request-id") ?? undefined;
  const data = {
    provider,
    status,
    ...(info.type === undefined ? {} : { providerType: info.type }),
    ...(info.code === undefined ? {} : { providerCode: info.code }),
    ...(providerMessage === undefined ? {} : { providerMessage }),
    ...(wait === undefined ? {} : { retryAfterSec: wait }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(failure.inStream ? { inStream: true } : {}),
  };
  const what = [`HTTP ${status}`, info.type].filter(Boolean).join(" ");
  const message = `${provider} answered ${what}${providerMessage ? `: ${providerMessage}` : ""}`;

  if (info.kind === "auth" || status === 401 || status === 403) return new ProviderAuthError(message, { data });
  // An exhausted quota or billing limit comes as 429 but does not refill by waiting a few seconds.
  if (info.kind === "quota") return new ProviderRateLimitedError(message, { data, retryable: false });
  if (status === 429) return new ProviderRateLimitedError(message, { data });
  if (info.kind === "overloaded" || status === 529 || status === 503) return new ProviderOverloadedError(message, { data });
  if (status === 408) return new ProviderTimeoutError(message, { data });
  if (status >= 500) return new ProviderUnavailableError(message, { data });
  return new ProviderBadRequestError(message, { data });
}

/** The request never got an answer: refused, reset, DNS, TLS. */
export function networkError(provider: string, err: unknown, secret?: string): CoreError {
  // fetch wraps the socket's error in `cause`; undici's request throws it as it is.
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const cause = e?.cause;
  const code = typeof cause?.code === "string" ? cause.code : typeof e?.code === "string" ? e.code : undefined;
  const detail = redact(String((typeof cause?.message === "string" && cause.message) || (typeof e?.message === "string" && e.message) || err), secret);
  return new ProviderUnavailableError(`${provider} connection failed: ${detail}${code && !detail.includes(code) ? ` (${code})` : ""}`, {
    data: { provider, ...(code ? { errorCode: code } : {}), detail },
    cause: err,
  });
}

/** A 2xx answer CORE cannot read. */
export function badResponse(provider: string, what: string, sample?: string): CoreError {
  return new ProviderResponseError(`${provider} sent an unreadable response: ${what}`, {
    data: { provider, ...(sample === undefined ? {} : { sample: redact(sample.slice(0, 200)) }) },
  });
}
