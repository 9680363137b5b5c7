import { CoreError } from "./core-error";
import { ConfigError, ValidationError } from "./errors";

/**
 * One readable paragraph for a person at a terminal: the code, the message and,
 * for configuration or validation failures, one line per failing field. Never a
 * stack trace: those belong in the log.
 */
export function describeError(err: unknown): string {
  if (err instanceof ConfigError || err instanceof ValidationError) {
    const lines = err.issues.map((issue) => `  - ${issue.field}: ${issue.message}`);
    return [`${err.message} [${err.code}]`, ...lines].join("\n");
  }
  if (err instanceof CoreError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return `${err.message} [INTERNAL]`;
  return `${String(err)} [INTERNAL]`;
}
