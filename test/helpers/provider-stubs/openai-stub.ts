import { contentText, isObject, maskKey, stubId } from "./shared";
import type { ParsedChat, ProtocolStub, StubAnswer, StubBehaviour, StubReply, StubStream } from "./types";

interface OpenAiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function errorBody(error: OpenAiError): { error: OpenAiError } {
  return { error };
}

function invalid(message: string, param: string | null = null): StubReply {
  return { status: 400, body: errorBody({ message, type: "invalid_request_error", param, code: null }) };
}

function defaultError(status: number, model: string | undefined): OpenAiError {
  switch (status) {
    case 400:
      return { message: "Invalid request.", type: "invalid_request_error", param: null, code: null };
    case 401:
      return { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" };
    case 404:
      return { message: `The model \`${model ?? "unknown"}\` does not exist or you do not have access to it.`, type: "invalid_request_error", param: null, code: "model_not_found" };
    case 429:
      return {
        message: `Rate limit reached for ${model ?? "the model"} in organization org-stub on requests per min (RPM): Limit 3, Used 3, Requested 1.`,
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      };
    case 503:
      return { message: "The engine is currently overloaded, please try again later.", type: "server_error", param: null, code: null };
    default:
      return status >= 500
        ? { message: "The server had an error while processing your request. Sorry about that!", type: "server_error", param: null, code: null }
        : { message: "Invalid request.", type: "invalid_request_error", param: null, code: null };
  }
}

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** OpenAI chat completions: `POST {base}/chat/completions` (base `/v1` here, as at api.openai.com). */
export const openAiStub: ProtocolStub = {
  name: "openai",
  idPrefix: "chatcmpl-",

  route: (method, url) => (method === "POST" && url.pathname.endsWith("/chat/completions") ? {} : undefined),

  authenticate(headers, _url, apiKey) {
    const auth = headers.authorization ?? "";
    if (!auth.startsWith("Bearer ")) {
      return {
        status: 401,
        body: errorBody({
          message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          type: "invalid_request_error",
          param: null,
          code: null,
        }),
      };
    }
    const given = auth.slice("Bearer ".length);
    if (given === apiKey) return undefined;
    return {
      status: 401,
      body: errorBody({
        message: `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      }),
    };
  },

  parse(body): ParsedChat | StubReply {
    if (!isObject(body)) return invalid("We could not parse the JSON body of your request.");
    if (typeof body.model !== "string") return invalid("you must provide a model parameter", "model");
    if (!Array.isArray(body.messages) || body.messages.length === 0) return invalid("[] is too short - 'messages'", "messages");
    if (body.stream_options !== undefined && body.stream !== true) {
      return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
    }
    const texts: string[] = [];
    let question = "";
    for (const message of body.messages) {
      if (!isObject(message) || !["system", "developer", "user", "assistant", "tool"].includes(String(message.role))) {
        return invalid("Invalid value for 'messages[].role'.", "messages");
      }
      const text = contentText(message.content);
      texts.push(text);
      if (message.role === "user") question = text;
    }
    const max = typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : typeof body.max_tokens === "number" ? body.max_tokens : undefined;
    const options = isObject(body.stream_options) ? body.stream_options : {};
    const stream = body.stream === true;
    return { model: body.model, promptText: texts.join(" "), question, stream, maxTokens: max, includeUsage: !stream || options.include_usage === true };
  },

  reply(chat, answer) {
    return {
      status: 200,
      headers: { "x-request-id": stubId("req_"), "openai-processing-ms": "12" },
      body: {
        id: answer.id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: chat.model,
        choices: [
          { index: 0, message: { role: "assistant", content: answer.text, refusal: null }, logprobs: null, finish_reason: answer.truncated ? "length" : "stop" },
        ],
        ...(chat.includeUsage
          ? { usage: { prompt_tokens: answer.inputTokens, completion_tokens: answer.outputTokens, total_tokens: answer.inputTokens + answer.outputTokens } }
          : {}),
        system_fingerprint: "fp_stub",
      },
    };
  },

  stream(chat: ParsedChat, answer: StubAnswer): StubStream {
    const created = Math.floor(Date.now() / 1000);
    // With include_usage every chunk carries `usage: null`, and one more chunk (no choices) carries the usage.
    const usageField = chat.includeUsage ? { usage: null } : {};
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id: answer.id,
      object: "chat.completion.chunk",
      created,
      model: chat.model,
      system_fingerprint: "fp_stub",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...usageField,
    });
    const tail = [data(chunk({}, answer.truncated ? "length" : "stop"))];
    if (chat.includeUsage) {
      tail.push(
        data({
          id: answer.id,
          object: "chat.completion.chunk",
          created,
          model: chat.model,
          system_fingerprint: "fp_stub",
          choices: [],
          usage: { prompt_tokens: answer.inputTokens, completion_tokens: answer.outputTokens, total_tokens: answer.inputTokens + answer.outputTokens },
        }),
      );
    }
    tail.push("data: [DONE]\n\n");
    return {
      contentType: "text/event-stream; charset=utf-8",
      head: [data(chunk({ role: "assistant", content: "", refusal: null }, null))],
      chunks: answer.pieces.map((content) => data(chunk({ content }, null))),
      tail,
    };
  },

  error(status: number, behaviour: StubBehaviour, model): StubReply {
    const base = defaultError(status, model);
    const error = {
      ...base,
      ...(behaviour.errorType ? { type: behaviour.errorType } : {}),
      ...(behaviour.errorMessage ? { message: behaviour.errorMessage } : {}),
      ...(behaviour.errorCode ? { code: behaviour.errorCode } : {}),
    };
    const headers: Record<string, string> = { "x-request-id": stubId("req_") };
    if (behaviour.retryAfter !== undefined) headers["retry-after"] = String(behaviour.retryAfter);
    if (status === 429) {
      headers["x-ratelimit-limit-requests"] = "3";
      headers["x-ratelimit-remaining-requests"] = "0";
      headers["x-ratelimit-reset-requests"] = typeof behaviour.retryAfter === "number" ? `${behaviour.retryAfter}s` : "20s";
    }
    return { status, headers, body: errorBody(error) };
  },

  streamErrorFrame(status, behaviour) {
    const base = defaultError(status, undefined);
    return data(errorBody({ ...base, ...(behaviour.errorType ? { type: behaviour.errorType } : {}), ...(behaviour.errorMessage ? { message: behaviour.errorMessage } : {}) }));
  },

  malformedFrame: () => `data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n`,
};
