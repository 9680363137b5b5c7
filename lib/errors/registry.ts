import { CoreError, ForeignCoreError, type CoreErrorOptions, type ErrorData, type PlainCoreError } from "./core-error";
import * as authErrors from "./auth-errors";
import * as circleErrors from "./circle-errors";
import * as errors from "./errors";
import * as mcpErrors from "./mcp-errors";

/** Every CORE error class takes `(message, options)`, which is what lets one be rebuilt from its code. */
type CoreErrorClass = (new (message: string, options?: CoreErrorOptions) => CoreError) & {
  readonly code: string;
  readonly status: number;
};

const byCode = new Map<string, CoreErrorClass>();

/** Makes a class rebuildable from its code. Two classes for one code is a programming error. */
export function registerErrorClass(cls: CoreErrorClass): void {
  const existing = byCode.get(cls.code);
  if (existing && existing !== cls) {
    throw new Error(`error code ${cls.code} is already registered by ${existing.name}`);
  }
  byCode.set(cls.code, cls);
}

registerErrorClass(CoreError);
for (const value of [...Object.values(errors), ...Object.values(circleErrors), ...Object.values(authErrors), ...Object.values(mcpErrors)]) {
  if (typeof value === "function" && value.prototype instanceof CoreError) {
    // InternalError shares INTERNAL with the base class: the base stays the one rebuilt.
    if (byCode.has((value as CoreErrorClass).code)) continue;
    registerErrorClass(value as CoreErrorClass);
  }
}

export function errorClassFor(code: string): CoreErrorClass | undefined {
  return byCode.get(code);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** True for a plain object that carries a CORE error code (as sent over the wire). */
export function isPlainCoreError(value: unknown): value is PlainCoreError {
  return (
    isRecord(value) &&
    typeof value.code === "string" &&
    typeof value.message === "string" &&
    typeof value.status === "number" &&
    typeof value.retryable === "boolean"
  );
}

/**
 * Rebuilds a CoreError from its plain form. The class is chosen by `code`, not
 * by `name` or prototype. A code this process does not know (or whose status
 * disagrees) keeps every field it came with, as a ForeignCoreError.
 */
export function fromPlainError(plain: PlainCoreError): CoreError {
  const data: ErrorData = isRecord(plain.data) ? (plain.data as ErrorData) : {};
  const cls = byCode.get(plain.code);
  const err =
    cls && cls.status === plain.status
      ? new cls(plain.message, { data, retryable: plain.retryable })
      : new ForeignCoreError({ ...plain, data });
  if (plain.nodeID) err.nodeID = plain.nodeID;
  if (plain.stack) err.stack = plain.stack;
  return err;
}
