import { connect } from "nats";
import type { Logger } from "../logger";
import { retryWithBackoff, type BackoffPolicy } from "../resilience/backoff";

export interface WaitForNatsOptions {
  logger: Logger;
  signal?: AbortSignal;
  policy?: BackoffPolicy;
}

/** The server list without credentials, for logs. */
export function describeNatsUrl(url: string): string {
  return url
    .split(",")
    .map((part) => part.trim().replace(/\/\/[^@/]*@/, "//***@"))
    .join(",");
}

/**
 * Resolves once a NATS server at `url` accepts a connection, retrying with
 * capped exponential backoff and logging each wait. A node started while NATS
 * is down thus waits, says so, and joins when NATS comes up; it never crashes.
 */
export async function waitForNats(url: string, options: WaitForNatsOptions): Promise<void> {
  const servers = url.split(",").map((s) => s.trim());
  const where = describeNatsUrl(url);
  await retryWithBackoff(
    async () => {
      const nc = await connect({ servers, timeout: 2_000, reconnect: false, name: "core-probe" });
      await nc.close();
    },
    {
      signal: options.signal,
      policy: options.policy ?? { initialMs: 500, maxMs: 10_000, factor: 2 },
      onRetry: ({ attempt, delayMs, error }) => {
        const e = error as { code?: string; message?: string };
        options.logger.warn(`NATS at ${where} is unreachable (${e.code ?? e.message}); retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`);
      },
    },
  );
}
