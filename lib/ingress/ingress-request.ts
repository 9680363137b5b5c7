import { MAX_CONSULT_TIMEOUT_MS } from "../circle/consult-request";
import { BadRequestError, PayloadTooLargeError, ValidationError } from "../errors";
import { headerValue, REQUEST_ID_HEADER, TIMEOUT_HEADER } from "./ingress-message";

/** The REST edge's default JSON body limit (moleculer-web `limit: "256kb"`), so both edges take the same bodies. */
export const DEFAULT_INGRESS_MAX_BYTES = 256 * 1024;
/** Shortest call deadline a message may ask for. */
export const MIN_INGRESS_TIMEOUT_MS = 100;
/** Longest call deadline a message may ask for: the longest a consult may take. */
export const MAX_INGRESS_TIMEOUT_MS = MAX_CONSULT_TIMEOUT_MS;

/** The request ids the REST edge takes from `X-Request-Id`; others are replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TIMEOUT = /^[0-9]{1,9}$/;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A message's body: undefined when empty, else its JSON. Larger than
 * `maxBytes` → 413 before a byte is decoded; not UTF-8 or not JSON → 400.
 * The parser's complaint is reported by position only, never with a piece of
 * the message in it.
 */
export function parseBody(data: Uint8Array, maxBytes: number): unknown {
  if (data.byteLength > maxBytes) {
    throw new PayloadTooLargeError(`The message is ${data.byteLength} bytes; at most ${maxBytes} are accepted`, { data: { bytes: data.byteLength, limit: maxBytes } });
  }
  if (data.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new BadRequestError("The message is not UTF-8 text: send a JSON object");
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new BadRequestError(`The message is not valid JSON${position === undefined ? "" : ` (at position ${position})`}: send a JSON object`);
  }
}

/** The client's `Core-Request-Id` when it is one the REST edge would take too; else undefined. */
export function clientRequestId(headers: Readonly<Record<string, readonly string[]>>): string | undefined {
  const id = headerValue(headers, REQUEST_ID_HEADER);
  return id !== undefined && REQUEST_ID.test(id) ? id : undefined;
}

/** `Core-Timeout-Ms` as a number, undefined when absent; anything but whole milliseconds in the bounds → 422. */
export function requestedTimeoutMs(headers: Readonly<Record<string, readonly string[]>>): number | undefined {
  const raw = headerValue(headers, TIMEOUT_HEADER);
  if (raw === undefined) return undefined;
  const value = raw.trim();
  const ms = TIMEOUT.test(value) ? Number(value) : NaN;
  if (ms >= MIN_INGRESS_TIMEOUT_MS && ms <= MAX_INGRESS_TIMEOUT_MS) return ms;
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  throw new ValidationError(`Invalid ${TIMEOUT_HEADER} header`, {
    issues: [{ field: `headers.${TIMEOUT_HEADER}`, received: shown, message: `an integer of milliseconds from ${MIN_INGRESS_TIMEOUT_MS} to ${MAX_INGRESS_TIMEOUT_MS}` }],
  });
}
