/**
 * One request/reply message as the NATS ingress sees it: what nats.js hands
 * over (services/ingress.service.ts adapts its `Msg`), with no nats.js type,
 * so the ingress is tested without a server.
 */
export interface IngressMessage {
  readonly subject: string;
  /** Where the answer goes; undefined for a plain publish, which nobody can answer. */
  readonly reply: string | undefined;
  readonly data: Uint8Array;
  /** Header names as sent; every value of each. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** Publishes the answer to `reply`; throws when it cannot (the connection is closed). */
  respond(data: Uint8Array, headers: Readonly<Record<string, string>>): void;
}

/** The answer to one message: HTTP-style status, JSON body and headers besides the Core-* ones. */
export interface IngressReply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Reply headers: the status as HTTP would say it, the request id, the call's trace id (Moleculer's requestID). */
export const STATUS_HEADER = "Core-Status";
export const REQUEST_ID_HEADER = "Core-Request-Id";
export const TRACE_ID_HEADER = "Core-Trace-Id";
/** Request header: the call's deadline in ms from now. */
export const TIMEOUT_HEADER = "Core-Timeout-Ms";

/** NATS headers (nats.js `MsgHdrs` iterates as `[name, values]`) as a plain record. */
export function headerRecord(headers: Iterable<[string, string[]]> | undefined): Record<string, string[]> {
  // No prototype: a header named __proto__ is a header like any other.
  const out = Object.create(null) as Record<string, string[]>;
  if (!headers) return out;
  for (const [name, values] of headers) out[name] = [...(out[name] ?? []), ...values];
  return out;
}

/**
 * The same headers with lower-case names (HTTP's rule, which the REST edge
 * follows, so `authorization` and `Authorization` are one header); the values
 * of names that differ only in case are kept together.
 */
export function lowerCaseHeaders(headers: Readonly<Record<string, readonly string[]>>): Record<string, readonly string[]> {
  const out = Object.create(null) as Record<string, string[]>;
  for (const [name, values] of Object.entries(headers)) {
    const key = name.toLowerCase();
    out[key] = [...(out[key] ?? []), ...values];
  }
  return out;
}

/** The first value of a header (names lower-case). */
export function headerValue(headers: Readonly<Record<string, readonly string[]>>, name: string): string | undefined {
  return headers[name.toLowerCase()]?.[0];
}
