import type { CoreError } from "./core-error";

/**
 * The `Retry-After` an error asks for, in whole seconds (rounded up), from its
 * `data.retryAfterSec` (rate limits, a provider's 429, a node shedding load);
 * undefined when it names none.
 */
export function retryAfterSeconds(err: CoreError): number | undefined {
  const sec = err.data.retryAfterSec;
  return typeof sec === "number" && Number.isFinite(sec) && sec >= 0 ? Math.ceil(sec) : undefined;
}
