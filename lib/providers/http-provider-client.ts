// Aliased: `request` is what every method here calls the completion request.
import { request as httpRequest, type Dispatcher } from "undici";
import { Attempt } from "./attempt";
import { badResponse, providerError, type ProviderErrorInfo } from "./provider-error";
import type { CallOptions, Completion, CompletionChunk, CompletionRequest, Protocol, ProviderClient } from "./types";

export interface HttpClientOptions {
  /** The configured provider (`openai`, `deepseek`, …): the label in every error. */
  provider: string;
  baseUrl: string;
  apiKey?: string;
}

/** A response's headers as WHATWG Headers (what the error mapping reads: Retry-After, request ids). */
function headersOf(raw: Dispatcher.ResponseData["headers"]): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** Parses JSON, or answers `undefined`: for error bodies, which may be HTML from a proxy. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The exchange every protocol shares: one POST under an Attempt, a non-2xx
 * answer turned into a typed error from the protocol's error body, a 2xx body
 * read whole (complete) or incrementally (stream). Subclasses only say what
 * goes on the wire and how to read what comes back.
 */
export abstract class HttpProviderClient implements ProviderClient {
  abstract readonly protocol: Protocol;
  readonly provider: string;
  readonly baseUrl: string;
  protected readonly apiKey: string | undefined;
  /** The media type of this protocol's stream. */
  protected readonly streamMediaType: string = "text/event-stream";

  constructor(options: HttpClientOptions) {
    this.provider = options.provider;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.apiKey = options.apiKey || undefined;
  }

  protected abstract endpoint(request: CompletionRequest, stream: boolean): string;
  protected abstract headers(): Record<string, string>;
  protected abstract body(request: CompletionRequest, stream: boolean): unknown;
  protected abstract errorInfo(body: unknown, text: string): ProviderErrorInfo;
  protected abstract toCompletion(json: unknown, request: CompletionRequest): Completion;
  protected abstract readStream(body: AsyncIterable<Uint8Array>, request: CompletionRequest): AsyncGenerator<CompletionChunk>;

  async complete(request: CompletionRequest, options: CallOptions = {}): Promise<Completion> {
    const attempt = Attempt.open(this.provider, options, this.apiKey);
    try {
      const res = await this.send(attempt, request, false);
      const text = await res.body.text();
      const json = tryParseJson(text);
      if (json === undefined) throw badResponse(this.provider, "malformed JSON", text);
      return this.toCompletion(json, request);
    } catch (err) {
      throw attempt.failure(err);
    } finally {
      attempt.close();
    }
  }

  async *stream(request: CompletionRequest, options: CallOptions = {}): AsyncGenerator<CompletionChunk> {
    const attempt = Attempt.open(this.provider, options, this.apiKey);
    try {
      const res = await this.send(attempt, request, true);
      yield* this.readStream(res.body, request);
    } catch (err) {
      throw attempt.failure(err);
    } finally {
      // A consumer that stops early must not leave the connection streaming.
      attempt.close(true);
    }
  }

  /** Maps an error the provider sent inside a stream that had started with 200. */
  protected streamError(status: number, body: unknown): Error {
    return providerError({ provider: this.provider, status, info: this.errorInfo(body, ""), secret: this.apiKey, inStream: true });
  }

  /**
   * undici's `request` on its keep-alive pool, not global `fetch`: the same
   * exchange without WHATWG Request/Response/Headers and web streams, about
   * 0.3 ms less CPU a call here.
   */
  private async send(attempt: Attempt, request: CompletionRequest, stream: boolean): Promise<Dispatcher.ResponseData> {
    const res = await httpRequest(this.endpoint(request, stream), {
      method: "POST",
      headers: { "content-type": "application/json", accept: stream ? this.streamMediaType : "application/json", ...this.headers() },
      body: JSON.stringify(this.body(request, stream)),
      signal: attempt.signal,
    });
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text();
    throw providerError({ provider: this.provider, status: res.statusCode, headers: headersOf(res.headers), info: this.errorInfo(tryParseJson(text), text), secret: this.apiKey });
  }
}

/** A JSON event or line of a stream; malformed data is the provider's fault, and retryable. */
export function parseStreamData(provider: string, data: string): unknown {
  const json = tryParseJson(data);
  if (json === undefined) throw badResponse(provider, "malformed JSON in the stream", data);
  return json;
}

/** For error bodies that are not JSON: the text itself, short. */
export function textMessage(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed ? trimmed.slice(0, 300) : undefined;
}
