import { HttpProviderClient, parseStreamData, textMessage } from "./http-provider-client";
import { asCount, asObject, asString, path } from "./json-fields";
import { readLines } from "./line-reader";
import { badResponse, type ProviderErrorInfo } from "./provider-error";
import type { Completion, CompletionChunk, CompletionEnd, CompletionRequest, FinishReason } from "./types";

export const OLLAMA_DEFAULT_HOST = "http://127.0.0.1:11434";

const FINISH: Record<string, FinishReason> = { stop: "stop", length: "length" };

/** Ollama's last object (`done: true`): the counts and why it stopped. */
function endOf(json: unknown, request: CompletionRequest): CompletionEnd {
  const reason = asString(path(json, "done_reason"));
  // prompt_eval_count is left out when the whole prompt came from Ollama's cache.
  const input = asCount(path(json, "prompt_eval_count"));
  const output = asCount(path(json, "eval_count"));
  return {
    model: asString(path(json, "model")) ?? request.model,
    usage: { inputTokens: input ?? 0, outputTokens: output ?? 0 },
    finishReason: (reason && FINISH[reason]) || "other",
    ...(reason ? { providerFinishReason: reason } : {}),
    ...(output === undefined ? { usageMissing: true as const } : {}),
  };
}

/** Ollama's native chat API, `POST {host}/api/chat`: one JSON object, or NDJSON when streaming. No key. */
export class OllamaClient extends HttpProviderClient {
  readonly protocol = "ollama" as const;
  protected override readonly streamMediaType = "application/x-ndjson";

  protected endpoint(): string {
    return `${this.baseUrl}/api/chat`;
  }

  /** Ollama needs no key; one is sent only when configured (Ollama behind an authenticating proxy). */
  protected headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  protected body(request: CompletionRequest, stream: boolean): unknown {
    const options = {
      ...(request.maxTokens === undefined ? {} : { num_predict: request.maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    };
    return {
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      stream,
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
  }

  /** `{"error": "model \"x\" not found, try pulling it first"}`. */
  protected errorInfo(body: unknown, text: string): ProviderErrorInfo {
    return { message: asString(path(body, "error")) ?? textMessage(text) };
  }

  protected toCompletion(json: unknown, request: CompletionRequest): Completion {
    if (!asObject(path(json, "message"))) throw badResponse(this.provider, "a reply without a message");
    return { text: asString(path(json, "message", "content")) ?? "", ...endOf(json, request) };
  }

  /** One JSON object per line, each with a piece of the message; the last has `done: true` and the counts. */
  protected async *readStream(body: AsyncIterable<Uint8Array>, request: CompletionRequest): AsyncGenerator<CompletionChunk> {
    for await (const line of readLines(body)) {
      if (line.trim() === "") continue;
      const json = parseStreamData(this.provider, line);
      if (path(json, "error") !== undefined) throw this.streamError(500, json);
      const text = asString(path(json, "message", "content"));
      if (text) yield { type: "delta", text };
      if (path(json, "done") === true) {
        yield { type: "done", ...endOf(json, request) };
        return;
      }
    }
    throw badResponse(this.provider, "the stream ended before done");
  }
}
