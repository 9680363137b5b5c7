import { contentText, isObject } from "./shared";
import type { ParsedChat, ProtocolStub, StubAnswer, StubBehaviour, StubReply, StubStream } from "./types";

function defaultMessage(status: number, model: string | undefined): string {
  if (status === 404) return `model "${model ?? "unknown"}" not found, try pulling it first`;
  if (status === 503) return "server busy, please try again.  maximum pending requests exceeded";
  if (status === 429) return "too many requests";
  if (status >= 500) return "llama runner process has terminated: exit status 2";
  return "invalid request";
}

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Ollama's durations are nanoseconds; these are plausible, not measured. */
function timings(answer: StubAnswer): Record<string, number> {
  return {
    total_duration: 5_191_566_416,
    load_duration: 2_154_458,
    prompt_eval_count: answer.inputTokens,
    prompt_eval_duration: 383_809_000,
    eval_count: answer.outputTokens,
    eval_duration: 4_799_921_000,
  };
}

/** Ollama's native API: `POST /api/chat`, streaming by default, NDJSON. */
export const ollamaStub: ProtocolStub = {
  name: "ollama",
  idPrefix: "",

  route: (method, url) => (method === "POST" && url.pathname === "/api/chat" ? {} : undefined),

  // Ollama has no keys.
  authenticate: () => undefined,

  parse(body): ParsedChat | StubReply {
    if (!isObject(body)) return { status: 400, body: { error: "invalid character 'x' looking for beginning of value" } };
    if (typeof body.model !== "string" || body.model === "") return { status: 400, body: { error: "model is required" } };
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const texts: string[] = [];
    let question = "";
    for (const message of messages) {
      if (!isObject(message)) continue;
      const text = contentText(message.content);
      texts.push(text);
      if (message.role === "user") question = text;
    }
    const options = isObject(body.options) ? body.options : {};
    return {
      model: body.model,
      promptText: texts.join(" "),
      question,
      // Ollama streams unless told not to.
      stream: body.stream !== false,
      maxTokens: typeof options.num_predict === "number" && options.num_predict > 0 ? options.num_predict : undefined,
      includeUsage: true,
    };
  },

  reply(chat, answer) {
    return {
      status: 200,
      body: {
        model: chat.model,
        created_at: new Date().toISOString(),
        message: { role: "assistant", content: answer.text },
        done: true,
        done_reason: answer.truncated ? "length" : "stop",
        ...timings(answer),
      },
    };
  },

  stream(chat: ParsedChat, answer: StubAnswer): StubStream {
    const at = () => new Date().toISOString();
    return {
      contentType: "application/x-ndjson",
      head: [],
      chunks: answer.pieces.map((content) => line({ model: chat.model, created_at: at(), message: { role: "assistant", content }, done: false })),
      tail: [
        line({ model: chat.model, created_at: at(), message: { role: "assistant", content: "" }, done: true, done_reason: answer.truncated ? "length" : "stop", ...timings(answer) }),
      ],
    };
  },

  error(status: number, behaviour: StubBehaviour, model) {
    return {
      status,
      body: { error: behaviour.errorMessage ?? defaultMessage(status, model) },
      ...(behaviour.retryAfter !== undefined ? { headers: { "retry-after": String(behaviour.retryAfter) } } : {}),
    };
  },

  streamErrorFrame: (status, behaviour) => line({ error: behaviour.errorMessage ?? defaultMessage(status, undefined) }),

  malformedFrame: () => `{"model": "broken", "message": {"content": \n`,
};
