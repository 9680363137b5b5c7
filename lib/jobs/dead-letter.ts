import type { JobHeaders } from "./job-message";

/** Headers CORE adds to a dead-lettered job, next to the publisher's own. */
export const DEAD_LETTER_HEADERS = {
  jobId: "Core-Job-Id",
  attempts: "Core-Attempts",
  errorCode: "Core-Error-Code",
  error: "Core-Error",
} as const;

/** Longest Core-Error value: a header is no place for a whole report (the jobs.dead event and the job row have the error too). */
const MAX_ERROR_CHARS = 1_000;

/** A header value on one line of printable text: NATS headers end at CR/LF, and a value must not smuggle another header in. */
export function headerSafe(text: string, max = MAX_ERROR_CHARS): string {
  const line = text.replace(/[\r\n]+/g, " ").replace(/[^\x20-\x7e\u00a0-\uffff]/g, "?").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * The headers of a dead letter: the publisher's (credential and Nats-Msg-Id
 * included, so the job can be published again as it was, and a stream
 * capturing the dead-letter subject deduplicates it), less any earlier Core-*
 * verdict, plus why it died.
 */
export function deadLetterHeaders(original: JobHeaders, verdict: { jobId: string; attempts: number; code: string; message: string }): Array<[string, string]> {
  const ours = new Set(Object.values(DEAD_LETTER_HEADERS).map((h) => h.toLowerCase()));
  return [
    ...original.filter(([name]) => !ours.has(name.toLowerCase())).map(([n, v]): [string, string] => [n, v]),
    [DEAD_LETTER_HEADERS.jobId, headerSafe(verdict.jobId)],
    [DEAD_LETTER_HEADERS.attempts, String(verdict.attempts)],
    [DEAD_LETTER_HEADERS.errorCode, headerSafe(verdict.code)],
    [DEAD_LETTER_HEADERS.error, headerSafe(verdict.message)],
  ];
}
