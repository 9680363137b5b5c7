import { contentText, isObject, stubId } from "./shared";
import type { ParsedChat, ProtocolStub, StubAnswer, StubBehaviour, StubReply, StubStream } from "./types";

const TYPE_OF_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

const MESSAGE_OF_TYPE: Record<string, string> = {
  invalid_request_error: "Your request was malformed.",
  authentication_error: "invalid x-api-key",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "The requested resource could not be found.",
  request_too_large: "Request exceeds the maximum allowed number of bytes.",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit. Please try again later.",
  api_error: "Internal server error",
  overloaded_error: "Overloaded",
};

function errorBody(type: string, message: string): { type: string; error: { type: string; message: string }; request_id: string } {
  return { type: "error", error: { type, message }, request_id: stubId("req_") };
}

function invalid(message: string): StubReply {
  return { status: 400, body: errorBody("invalid_request_error", message) };
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Anthropic Messages API: `POST /v1/messages`. */
export const anthropicStub: ProtocolStub = {
  name: "anthropic",
  idPrefix: "msg_01",

  route: (method, url) => (method === "POST" && url.pathname === "/v1/messages" ? {} : undefined),

  authenticate(headers, _url, apiKey) {
    const given = headers["x-api-key"];
    if (!given) return { status: 401, body: errorBody("authentication_error", "x-api-key header is required") };
    if (given !== apiKey) return { status: 401, body: errorBody("authentication_error", "invalid x-api-key") };
    return undefined;
  },

  checkHeaders(headers) {
    return headers["anthropic-version"] ? undefined : invalid("anthropic-version: header is required");
  },

  parse(body): ParsedChat | StubReply {
    if (!isObject(body)) return invalid("The request body is not valid JSON.");
    if (typeof body.model !== "string") return invalid("model: Field required");
    if (typeof body.max_tokens !== "number") return invalid("max_tokens: Field required");
    if (!Array.isArray(body.messages) || body.messages.length === 0) return invalid("messages: at least one message is required");
    const system = typeof body.system === "string" ? body.system : contentText(body.system);
    const texts: string[] = system ? [system] : [];
    let question = "";
    for (const message of body.messages) {
      if (!isObject(message) || (message.role !== "user" && message.role !== "assistant")) {
        return invalid("messages: roles must be 'user' or 'assistant'; put the system prompt in the top-level system field");
      }
      const text = contentText(message.content);
      texts.push(text);
      if (message.role === "user") question = text;
    }
    return { model: body.model, promptText: texts.join(" "), question, stream: body.stream === true, maxTokens: body.max_tokens, includeUsage: true };
  },

  reply(chat, answer) {
    return {
      status: 200,
      headers: { "request-id": stubId("req_") },
      body: {
        id: answer.id,
        type: "message",
        role: "assistant",
        model: chat.model,
        content: [{ type: "text", text: answer.text }],
        stop_reason: answer.truncated ? "max_tokens" : "end_turn",
        stop_sequence: null,
        usage: { input_tokens: answer.inputTokens, output_tokens: answer.outputTokens },
      },
    };
  },

  stream(chat: ParsedChat, answer: StubAnswer): StubStream {
    return {
      contentType: "text/event-stream; charset=utf-8",
      head: [
        event("message_start", {
          type: "message_start",
          message: {
            id: answer.id,
            type: "message",
            role: "assistant",
            model: chat.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: answer.inputTokens, output_tokens: 1 },
          },
        }),
        event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
        event("ping", { type: "ping" }),
      ],
      chunks: answer.pieces.map((text) => event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
      tail: [
        event("content_block_stop", { type: "content_block_stop", index: 0 }),
        event("message_delta", {
          type: "message_delta",
          delta: { stop_reason: answer.truncated ? "max_tokens" : "end_turn", stop_sequence: null },
          usage: { output_tokens: answer.outputTokens },
        }),
        event("message_stop", { type: "message_stop" }),
      ],
    };
  },

  error(status: number, behaviour: StubBehaviour, model): StubReply {
    const type = behaviour.errorType ?? TYPE_OF_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
    const message = behaviour.errorMessage ?? (type === "not_found_error" && model ? `model: ${model}` : (MESSAGE_OF_TYPE[type] ?? "error"));
    const headers: Record<string, string> = { "request-id": stubId("req_") };
    if (behaviour.retryAfter !== undefined) headers["retry-after"] = String(behaviour.retryAfter);
    if (status === 429) {
      headers["anthropic-ratelimit-requests-limit"] = "50";
      headers["anthropic-ratelimit-requests-remaining"] = "0";
      headers["anthropic-ratelimit-requests-reset"] = new Date(Date.now() + 60_000).toISOString();
    }
    return { status, headers, body: errorBody(type, message) };
  },

  streamErrorFrame(status, behaviour) {
    const type = behaviour.errorType ?? TYPE_OF_STATUS[status] ?? "api_error";
    return event("error", { type: "error", error: { type, message: behaviour.errorMessage ?? MESSAGE_OF_TYPE[type] ?? "error" } });
  },

  malformedFrame: () => `event: message_start\ndata: {"type": "message_start", "message": {"id": \n\n`,
};
