/**
 * How long a provider asked us to wait, in seconds, from whichever signal it
 * sends: `retry-after-ms` (OpenAI), `Retry-After` as seconds or an HTTP date
 * (RFC 9110, Anthropic and most proxies), or OpenAI's `x-ratelimit-reset-*`
 * durations for the limit that ran out. Gemini puts it in the body instead
 * (see `protobufDurationSec`).
 */
export function retryAfterSec(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms) / 1000;

  const value = headers.get("retry-after");
  if (value !== null) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, (at - now) / 1000);
  }

  // A reset time only says when a limit refills; it is a wait only for the limit that is exhausted.
  let longest: number | undefined;
  for (const kind of ["requests", "tokens"]) {
    if (headers.get(`x-ratelimit-remaining-${kind}`)?.trim() !== "0") continue;
    const reset = goDurationSec(headers.get(`x-ratelimit-reset-${kind}`) ?? "");
    if (reset !== undefined) longest = Math.max(longest ?? 0, reset);
  }
  return longest;
}

const UNIT_SEC: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001, µs: 0.000001, ns: 0.000000001 };

/** A Go-style duration as OpenAI sends it: `20ms`, `1s`, `6m0s`, `1h2m3.5s`. */
export function goDurationSec(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)) {
    total += Number(amount) * UNIT_SEC[unit!]!;
  }
  return total;
}

/** A protobuf Duration in its JSON form (`"37s"`, `"1.5s"`), as in Google's RetryInfo.retryDelay. */
export function protobufDurationSec(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}
