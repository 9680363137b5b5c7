import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { InternalError } from "../errors";
import type { Logger } from "../logger";
import type { CallerPrincipal, GatewayCaller } from "./gateway-caller";
import { createGatewayMcpServer, type GatewayRequestExtra } from "./gateway-mcp-server";
import { McpSessionTransport } from "./mcp-session-transport";
import type { ToolGateway } from "./tool-gateway";

/**
 * Serves one request to `/mcp` whose caller the edge has authenticated
 * (`source`: the client address). `body` is the parsed JSON body of a POST
 * (undefined otherwise).
 */
export type McpHttpHandler = (req: IncomingMessage, res: ServerResponse, body: unknown, principal: CallerPrincipal, source?: string) => Promise<void>;

export interface McpHttpSessionsOptions {
  gateway: ToolGateway;
  logger: Logger;
  /** A session with no request and no open stream for this long is closed; 30 minutes. */
  idleMs?: number;
  /** Sessions this node holds at most; a new one beyond is refused with 503. 1000. */
  maxSessions?: number;
  /**
   * Browser origins allowed to call (the `Origin` header; DNS-rebinding
   * protection as the MCP specification asks): empty, none; `*`, any.
   * Requests without `Origin` (programs, not browsers) always pass.
   */
  allowedOrigins?: readonly string[];
  now?: () => number;
}

interface Session {
  id: string | undefined;
  /** The principal that opened it: only it may use it. */
  owner: string;
  transport: McpSessionTransport;
  server: Server;
  lastSeen: number;
  /** Requests and streams open now (a GET stream stays open as long as the client listens). */
  open: number;
}

/** Set on the request for the SDK, which hands it to the handlers as `extra.authInfo`. */
interface AuthInfoCarrier {
  auth?: { token: string; clientId: string; scopes: string[]; extra: { caller: GatewayCaller } };
}

function refuse(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function callerFrom(extra: GatewayRequestExtra): GatewayCaller {
  const caller = (extra.authInfo?.extra as { caller?: GatewayCaller } | undefined)?.caller;
  if (!caller) throw new InternalError("The MCP request carries no caller");
  return caller;
}

/**
 * The gateway over MCP Streamable HTTP, with sessions: an `initialize` POST
 * without `Mcp-Session-Id` opens one (the SDK's StreamableHTTPServerTransport
 * inside an McpSessionTransport, and a gateway Server of its own); later
 * requests name it, and only the principal that opened it may use it (anyone
 * else gets the same 404 as for an unknown id, so ids cannot be probed).
 * DELETE ends a session; idle ones are closed. Sessions live in this process:
 * behind a load balancer, route a session's requests to one node (the
 * `Mcp-Session-Id` header is the key).
 */
export class McpHttpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly idleMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: McpHttpSessionsOptions) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(this.idleMs / 2, 60_000)));
    this.sweeper.unref();
  }

  /** Open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  readonly handle: McpHttpHandler = async (req, res, body, principal, source) => {
    if (!this.originAllowed(header(req, "origin"))) return refuse(res, 403, -32000, "Forbidden: this origin may not call the MCP endpoint");
    if (this.closed) return refuse(res, 503, -32000, "The MCP gateway is stopping");
    const caller: GatewayCaller = { principal, source };
    (req as AuthInfoCarrier).auth = { token: "", clientId: principal.id, scopes: [...(principal.scopes ?? [])], extra: { caller } };
    const sessionId = header(req, "mcp-session-id");
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (!session || session.owner !== principal.id) return refuse(res, 404, -32001, "Session not found");
      return this.serve(session, req, res, body);
    }
    const initialize = req.method === "POST" && (Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body));
    if (!initialize) return refuse(res, 400, -32000, "Bad Request: No valid session ID provided");
    if (this.sessions.size >= this.maxSessions) return refuse(res, 503, -32000, "Too many MCP sessions on this node; try again later");
    const session = await this.openSession(principal.id);
    await this.serve(session, req, res, body);
    // An initialize that failed leaves no session behind.
    if (session.id === undefined) await session.server.close().catch(() => undefined);
  };

  /** Closes every session (the node stops). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => s.server.close().catch(() => undefined)));
    this.sessions.clear();
  }

  private async openSession(owner: string): Promise<Session> {
    const session: Session = { id: undefined, owner, lastSeen: this.now(), open: 0 } as Session;
    session.transport = new McpSessionTransport(
      new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          session.id = id;
          this.sessions.set(id, session);
        },
      }),
    );
    session.transport.onclose = () => {
      if (session.id !== undefined) this.sessions.delete(session.id);
    };
    session.server = createGatewayMcpServer({ gateway: this.options.gateway, callerOf: callerFrom, logger: this.options.logger });
    await session.server.connect(session.transport);
    return session;
  }

  private async serve(session: Session, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.open++;
    session.lastSeen = this.now();
    res.once("close", () => {
      session.open--;
      session.lastSeen = this.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions.values()) {
      if (session.open > 0 || now - session.lastSeen < this.idleMs) continue;
      this.options.logger.debug(`MCP session ${session.id} of ${session.owner} closed after ${Math.round(this.idleMs / 1000)} s idle`);
      if (session.id !== undefined) this.sessions.delete(session.id);
      void session.server.close().catch(() => undefined);
    }
  }

  private originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const allowed = this.options.allowedOrigins ?? [];
    return allowed.includes("*") || allowed.includes(origin);
  }
}
