import { BadRequestError, type CoreError, type PlainCoreError } from "../errors";

/**
 * The control protocol: newline-delimited JSON over a Unix domain socket. A
 * request is one line `{ id, action, params }`; its answer is one line
 * `{ id, result }` or `{ id, error }`, the error a plain CoreError so the
 * caller rebuilds it with its code. Answers may come out of order; `id`
 * matches them. An answer to a line that could not be read has `id: null`.
 */
export type ControlRequestId = string | number;

export interface ControlRequest {
  id: ControlRequestId;
  action: string;
  params: Record<string, unknown>;
}

export type ControlResponse = { id: ControlRequestId | null; result: unknown } | { id: ControlRequestId | null; error: PlainCoreError };

/** The longest action name a request may carry (Moleculer names are short). */
const MAX_ACTION_LENGTH = 200;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is ControlRequestId {
  return (typeof value === "string" && value.length > 0 && value.length <= 100) || (typeof value === "number" && Number.isSafeInteger(value));
}

/** One request line, read defensively: anything malformed is a BadRequestError carrying the id when there was one. */
export function parseControlRequest(line: string): { request: ControlRequest } | { id: ControlRequestId | null; error: CoreError } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, error: new BadRequestError("The request is not valid JSON: send one JSON object per line.") };
  }
  if (!isRecord(value)) return { id: null, error: new BadRequestError("The request must be a JSON object { id, action, params }.") };
  const id = isRequestId(value.id) ? value.id : null;
  if (id === null) return { id, error: new BadRequestError("The request needs an id: a string of 1 to 100 characters or an integer.") };
  if (typeof value.action !== "string" || !value.action || value.action.length > MAX_ACTION_LENGTH) {
    return { id, error: new BadRequestError("The request needs an action: the name of the action to call.") };
  }
  if (value.params !== undefined && !isRecord(value.params)) return { id, error: new BadRequestError("The request's params must be a JSON object.") };
  return { request: { id, action: value.action, params: value.params ?? {} } };
}

/** A response line read by the client; undefined when the line is not one. */
export function parseControlResponse(line: string): ControlResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !(value.id === null || isRequestId(value.id))) return undefined;
  if ("error" in value) return isRecord(value.error) ? { id: value.id, error: value.error as unknown as PlainCoreError } : undefined;
  return "result" in value ? { id: value.id, result: value.result } : undefined;
}
