import type { IncomingHttpHeaders } from "node:http";

export type StubProtocol = "anthropic" | "openai" | "gemini" | "ollama";

/**
 * What the stub does with one request. Faults apply before authentication and
 * validation, so any request can be made to fail; without a fault the stub
 * answers like the real API (and refuses what the real API would refuse).
 */
export interface StubBehaviour {
  /** Wait this long before answering (before the first byte of a stream). */
  latencyMs?: number;
  /** Never answer: the request stays open until the client gives up or the stub closes. */
  hang?: boolean;
  /** Destroy the connection instead of answering (the client sees a reset). */
  reset?: boolean;
  /** Answer with this HTTP status and the protocol's own error body for it (429, 500, 503, 529, 400, 401, …). */
  status?: number;
  /**
   * With `status`: how long to wait, in seconds or as an HTTP date. Sent as
   * `Retry-After`, except for Gemini, which sends it as RetryInfo.retryDelay in the body.
   */
  retryAfter?: number | string;
  /** With `status`: the provider's error type and message instead of the protocol's default for the status. */
  errorType?: string;
  errorMessage?: string;
  /** With `status`, OpenAI: the error's `code` (`insufficient_quota`, …). */
  errorCode?: string;
  /** OpenAI: leave the usage out, as some compatible servers do (no `usage` object, no usage chunk). */
  omitUsage?: boolean;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** A 200 whose body (or, streaming, whose first event) is not valid JSON. */
  malformed?: boolean;
  /** Streaming: destroy the connection after this many text chunks. */
  resetAfterChunks?: number;
  /** Streaming: stop sending, connection open, after this many text chunks. */
  hangAfterChunks?: number;
  /** Streaming: the protocol's in-stream error event after this many text chunks, for this status. */
  streamError?: { afterChunks: number; status: number };
  /** Streaming: pause between text chunks. */
  chunkDelayMs?: number;
  /** The answer's text (default: a sentence naming the model and quoting the question). */
  text?: string;
}

/** Which requests a behaviour applies to; every field given must match. */
export interface StubMatch {
  protocol?: StubProtocol;
  model?: string;
  stream?: boolean;
}

export interface RecordedRequest {
  /** Undefined for a path no protocol serves. */
  protocol: StubProtocol | undefined;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  model: string | undefined;
  stream: boolean | undefined;
  /** Date.now() when the whole request had arrived. */
  at: number;
}

/** A chat request as a protocol module read it. */
export interface ParsedChat {
  model: string;
  /** Every text of the prompt, system included: input tokens are counted from it. */
  promptText: string;
  /** The last user message: the default answer quotes it. */
  question: string;
  stream: boolean;
  maxTokens: number | undefined;
  /** OpenAI: whether to report usage (a stream only when asked with include_usage). */
  includeUsage: boolean;
}

/** The answer the stub gives, with the usage it reports. */
export interface StubAnswer {
  text: string;
  /** Text chunks of a stream; they join to `text`. */
  pieces: string[];
  inputTokens: number;
  outputTokens: number;
  /** Cut at the request's max tokens. */
  truncated: boolean;
  id: string;
}

export interface StubReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface StubStream {
  contentType: string;
  /** Frames before the text chunks (Anthropic's message_start, …). */
  head: string[];
  /** One frame per text chunk, in order. */
  chunks: string[];
  /** Frames after the text (finish reason, usage, end marker). */
  tail: string[];
}

export interface StubRoute {
  /** From the path (Gemini); the others name the model in the body. */
  model?: string;
  /** From the path (Gemini). */
  stream?: boolean;
}

/** One wire protocol, as the stub speaks it. */
export interface ProtocolStub {
  readonly name: StubProtocol;
  /** How this provider's response ids begin (`msg_01`, `chatcmpl-`). */
  readonly idPrefix: string;
  /** The route when this request is for this protocol. */
  route(method: string, url: URL): StubRoute | undefined;
  /** A refusal of the request's credentials, when `apiKey` is set and they do not match. */
  authenticate(headers: IncomingHttpHeaders, url: URL, apiKey: string): StubReply | undefined;
  /** A refusal for headers every request needs (Anthropic's version), key or not. */
  checkHeaders?(headers: IncomingHttpHeaders): StubReply | undefined;
  /** The request, or the 400 the real API gives for it. */
  parse(body: unknown, route: StubRoute): ParsedChat | StubReply;
  reply(chat: ParsedChat, answer: StubAnswer): StubReply;
  stream(chat: ParsedChat, answer: StubAnswer): StubStream;
  /** The error body (and headers) for a status, as this provider sends it. */
  error(status: number, behaviour: StubBehaviour, model: string | undefined): StubReply;
  /** One in-stream error frame. */
  streamErrorFrame(status: number, behaviour: StubBehaviour): string;
  /** A frame whose data is not JSON. */
  malformedFrame(): string;
}
