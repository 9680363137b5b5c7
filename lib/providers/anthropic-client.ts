import { HttpProviderClient, parseStreamData, textMessage } from "./http-provider-client";
import { asArray, asCount, asObject, asString, path } from "./json-fields";
import { readLines } from "./line-reader";
import { badResponse, type ProviderErrorInfo } from "./provider-error";
import { readSse } from "./sse";
import type { Completion, CompletionChunk, CompletionRequest, FinishReason, Usage } from "./types";

export const ANTHROPIC_VERSION = "2023-06-01";
/** The Messages API requires max_tokens; this is the bound when the expert sets none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_use",
  refusal: "content_filter",
};

/** The status each error type of the API stands for: a stream's `error` event has no status of its own. */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

/** Billed input: the uncached tokens plus those written to and read from the prompt cache. */
function inputTokens(usage: unknown): number | undefined {
  const base = asCount(path(usage, "input_tokens"));
  if (base === undefined) return undefined;
  return base + (asCount(path(usage, "cache_creation_input_tokens")) ?? 0) + (asCount(path(usage, "cache_read_input_tokens")) ?? 0);
}

/** Anthropic Messages API: `POST {base}/v1/messages`, system prompt beside the messages. */
export class AnthropicClient extends HttpProviderClient {
  readonly protocol = "anthropic" as const;

  protected endpoint(): string {
    return `${this.baseUrl}/v1/messages`;
  }

  protected headers(): Record<string, string> {
    return { "anthropic-version": ANTHROPIC_VERSION, ...(this.apiKey ? { "x-api-key": this.apiKey } : {}) };
  }

  protected body(request: CompletionRequest, stream: boolean): unknown {
    const system = request.messages.filter((m) => m.role === "system").map((m) => m.content);
    return {
      model: request.model,
      max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
      messages: request.messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role, content: m.content })),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(stream ? { stream: true } : {}),
    };
  }

  protected errorInfo(body: unknown, text: string): ProviderErrorInfo {
    const type = asString(path(body, "error", "type"));
    return {
      type,
      message: asString(path(body, "error", "message")) ?? textMessage(text),
      ...(type === "overloaded_error" ? { kind: "overloaded" as const } : {}),
    };
  }

  protected toCompletion(json: unknown, request: CompletionRequest): Completion {
    const content = asArray(path(json, "content"));
    const input = inputTokens(path(json, "usage"));
    const output = asCount(path(json, "usage", "output_tokens"));
    if (!content || input === undefined || output === undefined) throw badResponse(this.provider, "a message without content or usage");
    const text = content
      .filter((block) => path(block, "type") === "text")
      .map((block) => asString(path(block, "text")) ?? "")
      .join("");
    const stop = asString(path(json, "stop_reason"));
    const id = asString(path(json, "id"));
    return {
      text,
      model: asString(path(json, "model")) ?? request.model,
      usage: { inputTokens: input, outputTokens: output },
      finishReason: (stop && FINISH[stop]) || "other",
      ...(stop ? { providerFinishReason: stop } : {}),
      ...(id ? { id } : {}),
    };
  }

  /** message_start (id, input usage) → content_block_delta… → message_delta (stop reason, output usage) → message_stop. */
  protected async *readStream(body: AsyncIterable<Uint8Array>, request: CompletionRequest): AsyncGenerator<CompletionChunk> {
    let id: string | undefined;
    let model = request.model;
    let stop: string | undefined;
    const usage: Partial<Usage> = {};
    for await (const event of readSse(readLines(body))) {
      const json = parseStreamData(this.provider, event.data);
      const type = asString(path(json, "type")) ?? event.event;
      if (type === "content_block_delta") {
        const text = path(json, "delta", "type") === "text_delta" ? asString(path(json, "delta", "text")) : undefined;
        if (text) yield { type: "delta", text };
      } else if (type === "message_start") {
        const message = asObject(path(json, "message"));
        id = asString(message?.id) ?? id;
        model = asString(message?.model) ?? model;
        usage.inputTokens = inputTokens(message?.usage) ?? usage.inputTokens;
        usage.outputTokens = asCount(path(message, "usage", "output_tokens")) ?? usage.outputTokens;
      } else if (type === "message_delta") {
        stop = asString(path(json, "delta", "stop_reason")) ?? stop;
        // Counts in message_delta are cumulative for the whole message.
        usage.inputTokens = inputTokens(path(json, "usage")) ?? usage.inputTokens;
        usage.outputTokens = asCount(path(json, "usage", "output_tokens")) ?? usage.outputTokens;
      } else if (type === "message_stop") {
        yield {
          type: "done",
          model,
          usage: { inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 },
          finishReason: (stop && FINISH[stop]) || "other",
          ...(stop ? { providerFinishReason: stop } : {}),
          ...(id ? { id } : {}),
          ...(usage.inputTokens === undefined || usage.outputTokens === undefined ? { usageMissing: true as const } : {}),
        };
        return;
      } else if (type === "error") {
        const errorType = asString(path(json, "error", "type")) ?? "";
        throw this.streamError(STATUS_OF_TYPE[errorType] ?? 500, json);
      }
      // ping, content_block_start and content_block_stop carry nothing a text completion needs.
    }
    throw badResponse(this.provider, "the stream ended before message_stop");
  }
}
