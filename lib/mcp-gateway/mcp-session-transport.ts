import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type MessageExtraInfo, type RequestId } from "@modelcontextprotocol/sdk/types.js";

/** What the SDK hands a handler as `extra.authInfo` (McpHttpSessions sets it on the request). */
type AuthCarrier = IncomingMessage & { auth?: MessageExtraInfo["authInfo"] };

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return !("method" in message) && "id" in message && ("result" in message || "error" in message);
}

/** The id of a request answered directly, when `body` is one: a single request with no progress token, sent as the plain case of the specification. */
function plainRequest(req: IncomingMessage, body: unknown): (JSONRPCMessage & { id: RequestId; method: string }) | undefined {
  if (req.method !== "POST" || body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const accept = header(req, "accept");
  if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) return undefined;
  if (!isJsonContentType(header(req, "content-type"))) return undefined;
  const version = header(req, "mcp-protocol-version");
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  const parsed = JSONRPCMessageSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const message = parsed.data;
  if (!("method" in message) || !("id" in message) || message.method === "initialize") return undefined;
  const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
  if (meta?.progressToken !== undefined) return undefined;
  return message as JSONRPCMessage & { id: RequestId; method: string };
}

/**
 * One gateway session's transport: the SDK's Streamable HTTP server transport
 * (initialize, the GET stream, DELETE, batches, and every request whose client
 * asked for progress, answered as an SSE stream), plus a direct path for the
 * common case: a POSTed request without a progress token is answered with a
 * plain `application/json` body, which the specification lets the server
 * choose per POST. That path skips the SDK's conversion to web-standard
 * Request/Response, the SSE stream and its keep-alive timer, and writes the
 * answer in one piece. Anything it is unsure of (odd headers, a message the
 * SDK would refuse) goes to the SDK, which answers as it always did.
 */
export class McpSessionTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;
  /** Requests answered directly, waiting for their answer (null: the client went away first, the answer is dropped). */
  private readonly pending = new Map<RequestId, ServerResponse | null>();
  private closed = false;

  constructor(private readonly sdk: StreamableHTTPServerTransport) {
    sdk.onmessage = (message, extra) => {
      this.onmessage?.(message, extra);
      // A cancelled request gets no answer (the SDK's Protocol drops it): end its HTTP response, as the SDK ends a stream.
      if ("method" in message && message.method === "notifications/cancelled" && !("id" in message)) {
        const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (requestId !== undefined) this.finish(requestId);
      }
    };
    sdk.onerror = (error) => this.onerror?.(error);
    sdk.onclose = () => {
      this.closed = true;
      for (const id of [...this.pending.keys()]) this.finish(id);
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  start(): Promise<void> {
    return this.sdk.start();
  }

  close(): Promise<void> {
    return this.sdk.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const requestId = isResponse(message) ? message.id : options?.relatedRequestId;
    if (requestId === undefined || !this.pending.has(requestId)) return this.sdk.send(message, options);
    // A notification about a plain request has no stream to go on (the client asked for no progress): dropped, as in the SDK's JSON mode.
    if (!isResponse(message)) return;
    const res = this.pending.get(requestId);
    this.pending.delete(requestId);
    if (!res || res.writableEnded || res.destroyed) return;
    const body = JSON.stringify(message);
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...(this.sessionId === undefined ? {} : { "mcp-session-id": this.sessionId }) });
    res.end(body);
  }

  /** Serves one request to this session; `body` is the parsed JSON of a POST. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const message = this.closed ? undefined : plainRequest(req, body);
    if (!message || this.pending.has(message.id)) return this.sdk.handleRequest(req, res, body);
    const { id } = message;
    this.pending.set(id, res);
    // The client went away first: nothing to answer.
    res.once("close", () => {
      if (this.pending.get(id) === res) this.pending.set(id, null);
    });
    this.onmessage?.(message, { authInfo: (req as AuthCarrier).auth, requestInfo: { headers: req.headers } });
  }

  /** Ends a direct request's response without an answer: an empty event stream, as the SDK leaves a stream it closes early. */
  private finish(id: RequestId): void {
    const res = this.pending.get(id);
    this.pending.delete(id);
    if (!res || res.headersSent || res.destroyed) return;
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", ...(this.sessionId === undefined ? {} : { "mcp-session-id": this.sessionId }) });
    res.end();
  }
}
