import { contentText, isObject } from "./shared";
import type { ParsedChat, ProtocolStub, StubAnswer, StubBehaviour, StubReply, StubStream } from "./types";

const STATUS_NAME: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

const DEFAULT_MESSAGE: Record<number, string> = {
  400: "Request contains an invalid argument.",
  403: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  429: "Resource has been exhausted (e.g. check quota).",
  500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  503: "The model is overloaded. Please try again later.",
  504: "The request timed out. Please try again.",
};

interface GoogleError {
  error: { code: number; message: string; status: string; details?: unknown[] };
}

function googleError(code: number, message: string, status: string, details?: unknown[]): GoogleError {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

function invalid(message: string): StubReply {
  return { status: 400, body: googleError(400, message, "INVALID_ARGUMENT") };
}

/** Gemini's SSE frames end in CRLF CRLF. */
function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\r\n\r\n`;
}

function errorFor(status: number, behaviour: StubBehaviour, model: string | undefined): GoogleError {
  const details: unknown[] = [];
  if (status === 429) {
    details.push({
      "@type": "type.googleapis.com/google.rpc.QuotaFailure",
      violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }],
    });
  }
  // Google sends the wait in the body, not in a Retry-After header.
  if (typeof behaviour.retryAfter === "number") {
    details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${behaviour.retryAfter}s` });
  }
  const message =
    behaviour.errorMessage ?? (status === 404 ? `models/${model ?? "unknown"} is not found for API version v1beta, or is not supported for generateContent.` : (DEFAULT_MESSAGE[status] ?? "Error"));
  return googleError(status, message, behaviour.errorType ?? STATUS_NAME[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT"), details.length > 0 ? details : undefined);
}

/** Gemini API: `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`. */
export const geminiStub: ProtocolStub = {
  name: "gemini",
  idPrefix: "",

  route(method, url) {
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
    if (method !== "POST" || !match) return undefined;
    return { model: decodeURIComponent(match[1]!), stream: match[2] === "streamGenerateContent" };
  },

  authenticate(headers, url, apiKey) {
    const given = headers["x-goog-api-key"] ?? url.searchParams.get("key");
    if (!given) return { status: 403, body: googleError(403, DEFAULT_MESSAGE[403]!, "PERMISSION_DENIED") };
    if (given === apiKey) return undefined;
    return {
      status: 400,
      body: googleError(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
      ]),
    };
  },

  parse(body, route): ParsedChat | StubReply {
    if (!isObject(body)) return invalid("Invalid JSON payload received.");
    if (!Array.isArray(body.contents) || body.contents.length === 0) return invalid("* GenerateContentRequest.contents: contents is not specified\n");
    const system = isObject(body.systemInstruction) ? contentText(body.systemInstruction.parts) : "";
    const texts: string[] = system ? [system] : [];
    let question = "";
    for (const content of body.contents) {
      if (!isObject(content) || (content.role !== undefined && content.role !== "user" && content.role !== "model")) {
        return invalid("Please use a valid role: user, model.");
      }
      const text = contentText(content.parts);
      texts.push(text);
      if (content.role !== "model") question = text;
    }
    const config = isObject(body.generationConfig) ? body.generationConfig : {};
    return {
      model: route.model ?? "",
      promptText: texts.join(" "),
      question,
      stream: route.stream === true,
      maxTokens: typeof config.maxOutputTokens === "number" ? config.maxOutputTokens : undefined,
      includeUsage: true,
    };
  },

  reply(chat, answer) {
    return {
      status: 200,
      body: {
        candidates: [{ content: { parts: [{ text: answer.text }], role: "model" }, finishReason: answer.truncated ? "MAX_TOKENS" : "STOP", index: 0 }],
        usageMetadata: {
          promptTokenCount: answer.inputTokens,
          candidatesTokenCount: answer.outputTokens,
          totalTokenCount: answer.inputTokens + answer.outputTokens,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: answer.inputTokens }],
        },
        modelVersion: chat.model,
        responseId: answer.id,
      },
    };
  },

  stream(chat: ParsedChat, answer: StubAnswer): StubStream {
    const pieces = answer.pieces.length > 0 ? answer.pieces : [""];
    const frame = (text: string, last: boolean) =>
      data({
        candidates: [{ content: { parts: [{ text }], role: "model" }, ...(last ? { finishReason: answer.truncated ? "MAX_TOKENS" : "STOP" } : {}), index: 0 }],
        usageMetadata: last
          ? { promptTokenCount: answer.inputTokens, candidatesTokenCount: answer.outputTokens, totalTokenCount: answer.inputTokens + answer.outputTokens }
          : { promptTokenCount: answer.inputTokens, totalTokenCount: answer.inputTokens },
        modelVersion: chat.model,
        responseId: answer.id,
      });
    // No end marker: the last chunk has the finish reason and the final usage, then the stream closes.
    return { contentType: "text/event-stream", head: [], chunks: pieces.map((p, i) => frame(p, i === pieces.length - 1)), tail: [] };
  },

  error(status, behaviour, model) {
    return { status, body: errorFor(status, behaviour, model), ...(behaviour.retryAfter !== undefined && typeof behaviour.retryAfter !== "number" ? { headers: { "retry-after": behaviour.retryAfter } } : {}) };
  },

  streamErrorFrame(status, behaviour) {
    return data(errorFor(status, behaviour, undefined));
  },

  malformedFrame: () => `data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n`,
};

