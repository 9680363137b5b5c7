import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { anthropicStub } from "./anthropic-stub";
import { geminiStub } from "./gemini-stub";
import { ollamaStub } from "./ollama-stub";
import { openAiStub } from "./openai-stub";
import { isObject, stubId } from "./shared";
import { countTokens, firstWords, textPieces } from "./tokens";
import type { ParsedChat, ProtocolStub, RecordedRequest, StubAnswer, StubBehaviour, StubMatch, StubProtocol, StubReply } from "./types";

const PROTOCOLS: readonly ProtocolStub[] = [anthropicStub, openAiStub, geminiStub, ollamaStub];

export interface ProviderStubOptions {
  /** When set, the Anthropic, OpenAI and Gemini routes refuse any other key the way the real APIs do. */
  apiKey?: string;
}

interface Rule {
  behaviour: StubBehaviour;
  match: StubMatch;
  /** Uses left; Infinity for a standing rule. */
  remaining: number;
}

function matches(match: StubMatch, protocol: StubProtocol, model: string | undefined, stream: boolean | undefined): boolean {
  return (
    (match.protocol === undefined || match.protocol === protocol) &&
    (match.model === undefined || match.model === model) &&
    (match.stream === undefined || match.stream === stream)
  );
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One local HTTP server speaking the four provider protocols on their own
 * paths: Anthropic `/v1/messages`, OpenAI `/v1/chat/completions`, Gemini
 * `/v1beta/models/{model}:generateContent`, Ollama `/api/chat`. It answers
 * with the real bodies, headers and stream formats, reports usage it counts
 * from the input (one token per word, see `countTokens`), records every
 * request, and fails on demand (`inject`). The product's clients reach it by
 * base URL only.
 */
export class ProviderStub {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  private rules: Rule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: ProviderStubOptions,
  ) {}

  static async start(options: ProviderStubOptions = {}): Promise<ProviderStub> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const stub = new ProviderStub(server, `http://127.0.0.1:${port}`, options);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      res.on("error", () => {});
      stub.handle(req, res).catch(() => res.destroy());
    });
    return stub;
  }

  /** The base URL a client of `protocol` is configured with (OpenAI's includes `/v1`, as api.openai.com's does). */
  baseUrl(protocol: StubProtocol): string {
    return protocol === "openai" ? `${this.url}/v1` : this.url;
  }

  /** Applies `behaviour` to the next `times` matching requests. One-shot rules are used in the order given. */
  inject(behaviour: StubBehaviour, match: StubMatch = {}, times = 1): this {
    this.rules.push({ behaviour, match, remaining: times });
    return this;
  }

  /** Applies `behaviour` to every matching request, under any one-shot rule (e.g. a model's scripted text). */
  always(behaviour: StubBehaviour, match: StubMatch = {}): this {
    return this.inject(behaviour, match, Number.POSITIVE_INFINITY);
  }

  requestsFor(match: StubMatch = {}): RecordedRequest[] {
    return this.requests.filter((r) => r.protocol !== undefined && matches(match, r.protocol, r.model, r.stream));
  }

  /** Forgets rules and recorded requests. */
  reset(): void {
    this.rules = [];
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A standing rule gives the base, the first one-shot rule that matches goes on top of it. */
  private behaviourFor(protocol: StubProtocol, model: string | undefined, stream: boolean | undefined): StubBehaviour {
    const standing = this.rules.find((r) => r.remaining === Number.POSITIVE_INFINITY && matches(r.match, protocol, model, stream));
    const once = this.rules.find((r) => r.remaining !== Number.POSITIVE_INFINITY && r.remaining > 0 && matches(r.match, protocol, model, stream));
    if (once) {
      once.remaining--;
      if (once.remaining === 0) this.rules.splice(this.rules.indexOf(once), 1);
    }
    return { ...standing?.behaviour, ...once?.behaviour };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const text = await readBody(req);
    const body = parseJson(text);
    const protocol = PROTOCOLS.find((p) => p.route(req.method ?? "", url));
    const route = protocol?.route(req.method ?? "", url) ?? {};
    const model = route.model ?? (isObject(body) && typeof body.model === "string" ? body.model : undefined);
    const stream = route.stream ?? (isObject(body) ? (protocol === ollamaStub ? body.stream !== false : body.stream === true) : undefined);
    this.requests.push({ protocol: protocol?.name, method: req.method ?? "", path: req.url ?? "/", headers: flatHeaders(req), body, model, stream, at: Date.now() });

    if (!protocol) {
      res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found");
      return;
    }
    const behaviour = this.behaviourFor(protocol.name, model, stream);
    if (behaviour.latencyMs) await this.sleep(behaviour.latencyMs);
    if (this.closed || res.destroyed) return;
    if (behaviour.hang) return;
    if (behaviour.reset) {
      req.socket.destroy();
      return;
    }
    if (behaviour.status !== undefined && behaviour.status >= 300) {
      return this.send(res, protocol.error(behaviour.status, behaviour, model), behaviour);
    }
    if (behaviour.malformed && !stream) {
      res.writeHead(200, { "content-type": "application/json", ...behaviour.headers }).end('{"id": "broken", "content": [');
      return;
    }

    const refusal =
      protocol.checkHeaders?.(req.headers) ?? (this.options.apiKey !== undefined ? protocol.authenticate(req.headers, url, this.options.apiKey) : undefined);
    if (refusal) return this.send(res, refusal, behaviour);
    const parsed = protocol.parse(body, route);
    if (!("promptText" in parsed)) return this.send(res, parsed, behaviour);
    const chat = behaviour.omitUsage ? { ...parsed, includeUsage: false } : parsed;

    const answer = this.answer(protocol, chat, behaviour);
    if (!chat.stream) return this.send(res, protocol.reply(chat, answer), behaviour);
    await this.stream(req, res, protocol, chat, answer, behaviour);
  }

  private answer(protocol: ProtocolStub, chat: ParsedChat, behaviour: StubBehaviour): StubAnswer {
    const full = behaviour.text ?? `This is ${chat.model} answering: ${chat.question}`;
    const truncated = chat.maxTokens !== undefined && countTokens(full) > chat.maxTokens;
    const text = truncated ? firstWords(full, chat.maxTokens!) : full;
    return { text, pieces: textPieces(text), inputTokens: countTokens(chat.promptText), outputTokens: countTokens(text), truncated, id: stubId(protocol.idPrefix) };
  }

  private send(res: ServerResponse, reply: StubReply, behaviour: StubBehaviour): void {
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers, ...behaviour.headers }).end(JSON.stringify(reply.body));
  }

  private async stream(req: IncomingMessage, res: ServerResponse, protocol: ProtocolStub, chat: ParsedChat, answer: StubAnswer, behaviour: StubBehaviour): Promise<void> {
    const frames = protocol.stream(chat, answer);
    res.writeHead(200, { "content-type": frames.contentType, "cache-control": "no-cache", ...behaviour.headers });
    res.flushHeaders();
    if (behaviour.malformed) {
      res.end(protocol.malformedFrame());
      return;
    }
    for (const frame of frames.head) res.write(frame);
    for (let i = 0; i <= frames.chunks.length; i++) {
      if (this.closed || res.destroyed) return;
      if (behaviour.resetAfterChunks === i) {
        // A reset discards what the client has not read yet: let the chunks sent so far arrive first.
        if (i > 0) await this.sleep(50);
        req.socket.destroy();
        return;
      }
      if (behaviour.hangAfterChunks === i) return;
      if (behaviour.streamError?.afterChunks === i) {
        res.end(protocol.streamErrorFrame(behaviour.streamError.status, behaviour));
        return;
      }
      if (i === frames.chunks.length) break;
      res.write(frames.chunks[i]);
      if (behaviour.chunkDelayMs) await this.sleep(behaviour.chunkDelayMs);
    }
    for (const frame of frames.tail) res.write(frame);
    res.end();
  }
}

export function startProviderStub(options: ProviderStubOptions = {}): Promise<ProviderStub> {
  return ProviderStub.start(options);
}
