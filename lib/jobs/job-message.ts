import { parseConsultRequest, type ConsultRequest } from "../circle/consult-request";
import { CoreError, ValidationError } from "../errors";
import { credentialFromHeaders } from "../security/authenticator";

/** A message's headers as they came: every value of every name, names as the publisher spelt them. */
export type JobHeaders = ReadonlyArray<readonly [name: string, value: string]>;

/** What a job message is, read from its subject, headers and body (never throws: a bad job is described, not raised). */
export interface JobMessage {
  /** The `Nats-Msg-Id` header, or one made from the message's place in the stream when absent or unusable. */
  id: string;
  /** True when `id` was made here (the publisher sent no usable Nats-Msg-Id); the events say so. */
  idGenerated: boolean;
  /** `Authorization` or `X-Api-Key`, as the REST and NATS edges read them. */
  credential: string | undefined;
  /** The consult to run; absent when the job is invalid. */
  request?: ConsultRequest;
  /** Why the job can never run (VALIDATION_FAILED, 422): it goes to the dead-letter subject without an attempt. */
  invalid?: CoreError;
}

/** Where a message sits in the jobs stream: the same on every redelivery, so an id made from it is too. */
export interface StreamPlace {
  streamSequence: number;
  /** When the stream stored the message, epoch ms. */
  storedAtMs: number;
}

/** The header JetStream deduplicates on; CORE uses it as the job's id. */
export const MSG_ID_HEADER = "Nats-Msg-Id";
/** A job id is written into headers, logs and a table: printable, one line, bounded. */
export const MAX_JOB_ID_CHARS = 200;
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]*$/;

/** The first value of a header, its name matched without regard to case (as NATS and HTTP headers are). */
export function headerValue(headers: JobHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === wanted)?.[1];
}

/** The id of a job without a usable Nats-Msg-Id: stable across redeliveries of the same stream message. */
export function generatedJobId(place: StreamPlace): string {
  return `auto-${place.streamSequence}-${place.storedAtMs}`;
}

/** True for text holding U+0000 anywhere (PostgreSQL text cannot store it). */
function holdsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (Array.isArray(value)) return value.some(holdsNul);
  if (typeof value === "object" && value !== null) return Object.entries(value).some(([k, v]) => k.includes("\u0000") || holdsNul(v));
  return false;
}

/** The body as a consult request: JSON, then the same schema REST and `circle.consult` use. */
function readRequest(data: Uint8Array): ConsultRequest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    throw new ValidationError("The job's body is not JSON: send a consult request such as {\"question\":\"…\"}", {
      issues: [{ field: "body", message: "a JSON object with a question (the body of POST /api/v1/consult)" }],
    });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("The job's body must be a JSON object: a consult request such as {\"question\":\"…\"}", {
      issues: [{ field: "body", message: "a JSON object with a question (the body of POST /api/v1/consult)" }],
    });
  }
  if (holdsNul(body)) throw new ValidationError("Invalid consult job", { issues: [{ field: "body", message: "text without NUL characters (U+0000)" }] });
  try {
    return parseConsultRequest(body);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError("Invalid consult job", { issues: err.issues });
    throw err;
  }
}

/**
 * Reads one job message. A consult job is published on `consultSubject` with
 * a consult request as its body (exactly what POST /api/v1/consult takes) and
 * the caller's credential in its headers; its id is the Nats-Msg-Id header,
 * which JetStream also deduplicates on.
 */
export function readJobMessage(
  message: { subject: string; data: Uint8Array; headers: JobHeaders },
  place: StreamPlace,
  consultSubject: string,
): JobMessage {
  const credential = credentialFromHeaders(Object.fromEntries(message.headers.map(([n, v]) => [n, v])));
  const rawId = headerValue(message.headers, MSG_ID_HEADER)?.trim();
  const idOk = rawId !== undefined && rawId.length <= MAX_JOB_ID_CHARS && PRINTABLE.test(rawId);
  const id = idOk ? rawId : generatedJobId(place);
  const base = { id, idGenerated: !idOk, credential };
  if (rawId !== undefined && rawId !== "" && !idOk) {
    const invalid = new ValidationError(`The job's ${MSG_ID_HEADER} is not a usable job id`, {
      issues: [{ field: `headers.${MSG_ID_HEADER}`, message: `1 to ${MAX_JOB_ID_CHARS} printable ASCII characters` }],
    });
    return { ...base, invalid };
  }
  if (message.subject !== consultSubject) {
    const invalid = new ValidationError(`No kind of job is published on ${message.subject}: publish consult jobs on ${consultSubject}`, {
      issues: [{ field: "subject", received: message.subject, message: consultSubject }],
    });
    return { ...base, invalid };
  }
  try {
    return { ...base, request: readRequest(message.data) };
  } catch (err) {
    return { ...base, invalid: err as CoreError };
  }
}
