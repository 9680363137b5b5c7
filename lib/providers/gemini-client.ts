import { HttpProviderClient, parseStreamData, textMessage } from "./http-provider-client";
import { asArray, asCount, asObject, asString, path } from "./json-fields";
import { readLines } from "./line-reader";
import { badResponse, type ProviderErrorInfo } from "./provider-error";
import { protobufDurationSec } from "./retry-after";
import { readSse } from "./sse";
import type { Completion, CompletionChunk, CompletionRequest, FinishReason, Usage } from "./types";

export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";

const FINISH: Record<string, FinishReason> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
  MALFORMED_FUNCTION_CALL: "tool_use",
};

/** Thinking models bill their thoughts as output tokens. */
function readUsage(json: unknown): Usage | undefined {
  const meta = asObject(path(json, "usageMetadata"));
  const input = asCount(meta?.promptTokenCount);
  if (input === undefined) return undefined;
  return { inputTokens: input, outputTokens: (asCount(meta?.candidatesTokenCount) ?? 0) + (asCount(meta?.thoughtsTokenCount) ?? 0) };
}

/** The answer's text; thought summaries (`thought: true`) are not part of it. */
function candidateText(json: unknown): string {
  const parts = asArray(path(asArray(path(json, "candidates"))?.[0], "content", "parts"));
  return (parts ?? [])
    .filter((part) => path(part, "thought") !== true)
    .map((part) => asString(path(part, "text")) ?? "")
    .join("");
}

/** The candidate's finish reason, or the prompt's block reason when no candidate came back. */
function stopReason(json: unknown): string | undefined {
  const candidate = asArray(path(json, "candidates"))?.[0];
  return asString(path(candidate, "finishReason")) ?? asString(path(json, "promptFeedback", "blockReason"));
}

function finishOf(reason: string | undefined): FinishReason {
  if (!reason) return "other";
  if (FINISH[reason]) return FINISH[reason];
  // A blocked prompt (promptFeedback.blockReason) is a content filter too.
  return /BLOCK|SAFETY|PROHIBITED/.test(reason) ? "content_filter" : "other";
}

/** Google Gemini API: `POST {base}/v1beta/models/{model}:generateContent`, key in `x-goog-api-key`. */
export class GeminiClient extends HttpProviderClient {
  readonly protocol = "gemini" as const;

  protected endpoint(request: CompletionRequest, stream: boolean): string {
    const model = encodeURIComponent(request.model.replace(/^models\//, ""));
    return `${this.baseUrl}/v1beta/models/${model}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`;
  }

  protected headers(): Record<string, string> {
    return this.apiKey ? { "x-goog-api-key": this.apiKey } : {};
  }

  protected body(request: CompletionRequest): unknown {
    const system = request.messages.filter((m) => m.role === "system");
    const config = {
      ...(request.maxTokens === undefined ? {} : { maxOutputTokens: request.maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    };
    return {
      contents: request.messages
        .filter((m) => m.role !== "system")
        .map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: [{ text: m.content }] })),
      ...(system.length > 0 ? { systemInstruction: { parts: system.map((m) => ({ text: m.content })) } } : {}),
      ...(Object.keys(config).length > 0 ? { generationConfig: config } : {}),
    };
  }

  /** `{error: {code, message, status, details}}`, sometimes wrapped in an array; a bad key comes as 400 with reason API_KEY_INVALID. */
  protected errorInfo(body: unknown, text: string): ProviderErrorInfo {
    const error = asObject(path(Array.isArray(body) ? body[0] : body, "error"));
    const details = asArray(error?.details) ?? [];
    let retryAfterSec: number | undefined;
    let reason: string | undefined;
    for (const detail of details) {
      const type = asString(path(detail, "@type")) ?? "";
      if (type.endsWith("google.rpc.RetryInfo")) retryAfterSec = protobufDurationSec(path(detail, "retryDelay"));
      if (type.endsWith("google.rpc.ErrorInfo")) reason = asString(path(detail, "reason"));
    }
    return {
      type: asString(error?.status),
      message: asString(error?.message) ?? textMessage(text),
      ...(reason ? { code: reason } : {}),
      ...(reason === "API_KEY_INVALID" ? { kind: "auth" as const } : {}),
      ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    };
  }

  protected toCompletion(json: unknown, request: CompletionRequest): Completion {
    const usage = readUsage(json);
    const reason = stopReason(json);
    if (!asArray(path(json, "candidates")) && reason === undefined) throw badResponse(this.provider, "a response without candidates");
    const id = asString(path(json, "responseId"));
    return {
      text: candidateText(json),
      model: asString(path(json, "modelVersion")) ?? request.model,
      usage: usage ?? { inputTokens: 0, outputTokens: 0 },
      finishReason: finishOf(reason),
      ...(reason ? { providerFinishReason: reason } : {}),
      ...(id ? { id } : {}),
      ...(usage ? {} : { usageMissing: true as const }),
    };
  }

  /** SSE events each holding a GenerateContentResponse; the last has the finish reason and the final usage. No end marker. */
  protected async *readStream(body: AsyncIterable<Uint8Array>, request: CompletionRequest): AsyncGenerator<CompletionChunk> {
    let id: string | undefined;
    let model = request.model;
    let reason: string | undefined;
    let usage: Usage | undefined;
    for await (const event of readSse(readLines(body))) {
      const json = parseStreamData(this.provider, event.data);
      const error = path(json, "error");
      if (error !== undefined) {
        const status = asCount(path(error, "code"));
        throw this.streamError(status !== undefined && status >= 400 ? status : 500, json);
      }
      id = asString(path(json, "responseId")) ?? id;
      model = asString(path(json, "modelVersion")) ?? model;
      usage = readUsage(json) ?? usage;
      reason = stopReason(json) ?? reason;
      const text = candidateText(json);
      if (text) yield { type: "delta", text };
    }
    if (reason === undefined) throw badResponse(this.provider, "the stream ended before a finish reason");
    yield {
      type: "done",
      model,
      usage: usage ?? { inputTokens: 0, outputTokens: 0 },
      finishReason: finishOf(reason),
      providerFinishReason: reason,
      ...(id ? { id } : {}),
      ...(usage ? {} : { usageMissing: true as const }),
    };
  }
}
