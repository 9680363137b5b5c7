import { HttpProviderClient, parseStreamData, textMessage, type HttpClientOptions } from "./http-provider-client";
import { asArray, asCount, asObject, asString, path } from "./json-fields";
import { readLines } from "./line-reader";
import { badResponse, type ProviderErrorInfo } from "./provider-error";
import { readSse } from "./sse";
import type { Completion, CompletionChunk, CompletionRequest, FinishReason, Usage } from "./types";

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

const FINISH: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  content_filter: "content_filter",
  tool_calls: "tool_use",
  function_call: "tool_use",
};

export interface OpenAiClientOptions extends HttpClientOptions {
  /**
   * OpenAI's newer models accept only `max_completion_tokens`; most compatible
   * servers (vLLM, LM Studio, LocalAI, DeepSeek) know `max_tokens`.
   */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
}

/** `usage` of a response or of the last stream chunk; Groq has sent it under `x_groq` too. */
function readUsage(json: unknown): Usage | undefined {
  const usage = asObject(path(json, "usage")) ?? asObject(path(json, "x_groq", "usage"));
  const input = asCount(usage?.prompt_tokens);
  const output = asCount(usage?.completion_tokens);
  return input === undefined || output === undefined ? undefined : { inputTokens: input, outputTokens: output };
}

/**
 * OpenAI chat completions, `POST {base}/chat/completions`, Bearer auth: OpenAI
 * itself and every server that copies it (DeepSeek, OpenRouter, Groq, vLLM,
 * LM Studio, LocalAI). Streams ask for `include_usage` so the last chunk
 * carries the usage.
 */
export class OpenAiClient extends HttpProviderClient {
  readonly protocol = "openai" as const;
  private readonly maxTokensField: "max_tokens" | "max_completion_tokens";

  constructor(options: OpenAiClientOptions) {
    super(options);
    this.maxTokensField = options.maxTokensField ?? "max_tokens";
  }

  protected endpoint(): string {
    return `${this.baseUrl}/chat/completions`;
  }

  protected headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  protected body(request: CompletionRequest, stream: boolean): unknown {
    return {
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.maxTokens === undefined ? {} : { [this.maxTokensField]: request.maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
  }

  /** OpenAI: `{error: {message, type, code}}`; vLLM: `{object: "error", message, type}`; others: `{error: "text"}` or `{detail}`. */
  protected errorInfo(body: unknown, text: string): ProviderErrorInfo {
    const error = asObject(path(body, "error"));
    const source = error ?? asObject(body);
    const code = source?.code;
    const codeText = typeof code === "string" ? code : undefined;
    return {
      type: asString(source?.type),
      message: asString(source?.message) ?? asString(path(body, "error")) ?? asString(path(body, "detail")) ?? textMessage(text),
      ...(codeText ? { code: codeText } : {}),
      ...(codeText === "insufficient_quota" || source?.type === "insufficient_quota" ? { kind: "quota" as const } : {}),
    };
  }

  protected toCompletion(json: unknown, request: CompletionRequest): Completion {
    const choice = asArray(path(json, "choices"))?.[0];
    if (!asObject(choice)) throw badResponse(this.provider, "a completion without choices");
    const usage = readUsage(json);
    const finish = asString(path(choice, "finish_reason"));
    const id = asString(path(json, "id"));
    return {
      text: asString(path(choice, "message", "content")) ?? "",
      model: asString(path(json, "model")) ?? request.model,
      usage: usage ?? { inputTokens: 0, outputTokens: 0 },
      finishReason: (finish && FINISH[finish]) || "other",
      ...(finish ? { providerFinishReason: finish } : {}),
      ...(id ? { id } : {}),
      ...(usage ? {} : { usageMissing: true as const }),
    };
  }

  /** `data: {chunk}` events, a usage-only chunk (empty choices), then `data: [DONE]`. */
  protected async *readStream(body: AsyncIterable<Uint8Array>, request: CompletionRequest): AsyncGenerator<CompletionChunk> {
    let id: string | undefined;
    let model = request.model;
    let finish: string | undefined;
    let usage: Usage | undefined;
    let done = false;
    for await (const event of readSse(readLines(body))) {
      if (event.data.trim() === "[DONE]") {
        done = true;
        break;
      }
      const json = parseStreamData(this.provider, event.data);
      const error = path(json, "error");
      if (error !== undefined && error !== null) {
        const status = asCount(path(error, "code"));
        throw this.streamError(status !== undefined && status >= 400 ? status : 500, json);
      }
      id = asString(path(json, "id")) || id;
      model = asString(path(json, "model")) || model;
      usage = readUsage(json) ?? usage;
      const choice = asArray(path(json, "choices"))?.[0];
      finish = asString(path(choice, "finish_reason")) ?? finish;
      const text = asString(path(choice, "delta", "content"));
      if (text) yield { type: "delta", text };
    }
    // Some servers close without [DONE]; a stream that reached its finish reason is whole.
    if (!done && finish === undefined) throw badResponse(this.provider, "the stream ended before [DONE]");
    yield {
      type: "done",
      model,
      usage: usage ?? { inputTokens: 0, outputTokens: 0 },
      finishReason: (finish && FINISH[finish]) || "other",
      ...(finish ? { providerFinishReason: finish } : {}),
      ...(id ? { id } : {}),
      ...(usage ? {} : { usageMissing: true as const }),
    };
  }
}
