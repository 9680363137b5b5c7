import { answerOf, coreInfo, openAiUsage, type ChatCompletion, type CoreCompletionInfo, type OpenAiFinishReason, type OpenAiUsage } from "./completion";
import { asCoreError, openAiErrorBody } from "./openai-error";
import type { PassThroughEvent } from "./pass-through";

/** The media type of a streamed answer. */
export const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";
/** Headers of a streamed answer beside its type: never cached, never buffered by a proxy (nginx honours X-Accel-Buffering). */
export const SSE_HEADERS: Readonly<Record<string, string>> = { "Cache-Control": "no-cache", "X-Accel-Buffering": "no" };

/** The last event of a stream that ended well. */
export const SSE_DONE = "data: [DONE]\n\n";

/** One server-sent event carrying `value` as JSON (JSON has no raw newline, so one `data:` line is the whole event). */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** What every chunk of one answer repeats. */
export interface ChunkHead {
  id: string;
  created: number;
  model: string;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: null;
  choices: Array<{
    index: 0;
    delta: { role?: "assistant"; content?: string };
    logprobs: null;
    finish_reason: OpenAiFinishReason | null;
  }>;
  /** With `include_usage`: null on every chunk but the last, which has the usage and no choices. */
  usage?: OpenAiUsage | null;
  core?: CoreCompletionInfo;
}

function chunk(head: ChunkHead, delta: ChatCompletionChunk["choices"][0]["delta"], finish: OpenAiFinishReason | null, includeUsage: boolean): ChatCompletionChunk {
  return {
    id: head.id,
    object: "chat.completion.chunk",
    created: head.created,
    model: head.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

/** The first chunk: who speaks, no text yet. */
export function roleChunk(head: ChunkHead, includeUsage = false): ChatCompletionChunk {
  return chunk(head, { role: "assistant", content: "" }, null, includeUsage);
}

export function contentChunk(head: ChunkHead, text: string, includeUsage = false): ChatCompletionChunk {
  return chunk(head, { content: text }, null, includeUsage);
}

/** The chunk that ends the choice: its finish reason, and CORE's account of the answer. */
export function finishChunk(head: ChunkHead, finishReason: OpenAiFinishReason, core: CoreCompletionInfo, includeUsage = false): ChatCompletionChunk {
  return { ...chunk(head, {}, finishReason, includeUsage), core };
}

/** The usage chunk sent last when the request asked (`stream_options.include_usage`). */
export function usageChunk(head: ChunkHead, usage: OpenAiUsage): ChatCompletionChunk {
  return { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, system_fingerprint: null, choices: [], usage };
}

/** What a streamed answer is made of, whatever produced it. */
export type CompletionEvent =
  | { type: "delta"; text: string }
  | { type: "end"; finishReason: OpenAiFinishReason; usage: OpenAiUsage; core: CoreCompletionInfo };

/** A whole completion as events: its text in one delta, then its end (how a consult is streamed: it has no partial answer). */
export async function* eventsOf(completion: ChatCompletion): AsyncGenerator<CompletionEvent> {
  const choice = completion.choices[0];
  if (choice.message.content) yield { type: "delta", text: choice.message.content };
  yield { type: "end", finishReason: choice.finish_reason, usage: completion.usage, core: completion.core };
}

/** A streamed pass-through as events: its deltas, then its end from the recorded consultation. */
export async function* eventsOfPassThrough(events: AsyncIterable<PassThroughEvent>): AsyncGenerator<CompletionEvent> {
  for await (const event of events) {
    if (event.type === "delta") {
      yield event;
    } else {
      const c = event.consultation;
      yield { type: "end", finishReason: answerOf(c).finishReason, usage: openAiUsage(c.usage), core: coreInfo(c, "pass-through") };
    }
  }
}

export interface SseOptions {
  /** Send the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Carried by an error event. */
  requestId?: string;
}

/**
 * A streamed answer as server-sent events, OpenAI's way: a role chunk, one
 * chunk per text delta, a chunk with the finish reason (and CORE's account),
 * the usage chunk when asked, then `data: [DONE]`. When `events` fails, the
 * stream ends with one `data: {"error": …}` event (OpenAI's shape, which
 * OpenAI clients raise as an APIError) and no `[DONE]`: it did not end well.
 */
export async function* sseCompletion(head: ChunkHead, events: AsyncIterable<CompletionEvent>, options: SseOptions): AsyncGenerator<string> {
  const { includeUsage } = options;
  yield sseData(roleChunk(head, includeUsage));
  try {
    for await (const event of events) {
      if (event.type === "delta") {
        if (event.text) yield sseData(contentChunk(head, event.text, includeUsage));
        continue;
      }
      yield sseData(finishChunk(head, event.finishReason, event.core, includeUsage));
      if (includeUsage) yield sseData(usageChunk(head, event.usage));
      yield SSE_DONE;
      return;
    }
  } catch (err) {
    yield sseData(openAiErrorBody(asCoreError(err), options.requestId));
    return;
  }
  // The events ended without their end: not an answer to pass off as whole.
  yield sseData(openAiErrorBody(asCoreError(new Error("the answer's stream ended before its end")), options.requestId));
}
