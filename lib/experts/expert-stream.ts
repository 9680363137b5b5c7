import type { ExpertAnswer } from "../circle/expert-answer";
import { outcomeError, type OutcomeError } from "../circle/fan-out";
import { CoreError, fromPlainError, isPlainCoreError, UnavailableError } from "../errors";

/** Everything of an expert's answer but its text: a stream's text is its deltas joined. */
export type StreamedAnswer = Omit<ExpertAnswer, "text">;

/**
 * What `expert.<id>.stream` sends, one object per chunk: text deltas, then
 * exactly one `done` (with usage and cost) or one `error` (the stream failed
 * after it had started; the error travels in the stream, not as a stream
 * error, so it keeps its code and data across NATS).
 */
export type ExpertStreamChunk =
  | { type: "delta"; text: string }
  | { type: "done"; answer: StreamedAnswer }
  | { type: "error"; error: OutcomeError };

/** The chunks a reader yields: the in-stream error is thrown instead. */
export type ExpertStreamEvent = Exclude<ExpertStreamChunk, { type: "error" }>;

/** The in-stream chunk for `err`, thrown while the stream was being produced. */
export function errorChunk(err: unknown): ExpertStreamChunk {
  return { type: "error", error: outcomeError(err) };
}

function isChunk(value: unknown): value is ExpertStreamChunk {
  if (typeof value !== "object" || value === null) return false;
  const c = value as { type?: unknown; text?: unknown; answer?: unknown; error?: unknown };
  return (
    (c.type === "delta" && typeof c.text === "string") ||
    (c.type === "done" && typeof c.answer === "object" && c.answer !== null) ||
    (c.type === "error" && typeof c.error === "object" && c.error !== null)
  );
}

/** An error as the reader throws it: CORE errors by their code, anything else (the transport broke off) as UNAVAILABLE. */
function readerError(err: unknown, expertId: string): CoreError {
  if (err instanceof CoreError) return err;
  if (isPlainCoreError(err)) return fromPlainError(err);
  return new UnavailableError(`The stream from expert ${expertId} broke off: ${(err as Error)?.message ?? String(err)}`, { data: { expert: expertId } });
}

/**
 * Reads what `expert.<id>.stream` returned (a local or a remote Readable in
 * object mode): its deltas, then its `done`. Throws the CORE error of an
 * `error` chunk, of a broken transport, or of a stream that ended early.
 */
export async function* readExpertStream(stream: AsyncIterable<unknown>, expertId: string): AsyncGenerator<ExpertStreamEvent> {
  let done = false;
  try {
    // Read to the end, not only to `done`: the transport's closing packet follows it, and a
    // stream left early would be destroyed while that packet is still on its way.
    for await (const chunk of stream) {
      if (done) continue;
      if (!isChunk(chunk)) throw new UnavailableError(`Expert ${expertId} sent a stream chunk CORE does not know`, { data: { expert: expertId } });
      if (chunk.type === "error") throw fromPlainError({ name: "CoreError", ...chunk.error });
      done = chunk.type === "done";
      yield chunk;
    }
  } catch (err) {
    throw readerError(err, expertId);
  }
  if (!done) throw new UnavailableError(`The stream from expert ${expertId} ended before its last chunk`, { data: { expert: expertId } });
}
