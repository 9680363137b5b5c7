import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";

/**
 * A small MCP server built with the SDK, over Streamable HTTP in this
 * process, for what the reference servers cannot show on demand: lists in
 * pages, a tool added at runtime (with notifications/tools/list_changed),
 * sessions the server forgets (404 → the client must initialise anew), a
 * JSON-RPC error, a tool-level failure and a slow tool.
 *
 * Tools: `echo {text}`, `add {a, b}`, `fail` (JSON-RPC InvalidParams),
 * `broken` (a result with isError), `sleep {ms}` (progress every 50 ms,
 * stops when cancelled), plus `extra_<n>` fillers for paging.
 */
export interface McpTestServer {
  /** The endpoint, e.g. http://127.0.0.1:PORT/mcp */
  readonly url: string;
  /** Sessions initialised so far. */
  readonly sessionsCreated: number;
  /** Requests answered 404 because their session was forgotten. */
  readonly expiredRequests: number;
  /** Cancellations (notifications/cancelled) that reached a running `sleep`. */
  readonly cancelled: number;
  /** Adds a tool and tells every session its list changed. */
  addTool(name: string): Promise<void>;
  /** Forgets every session (as a restarted server would): their next request gets 404. */
  forgetSessions(): void;
  close(): Promise<void>;
}

export interface McpTestServerOptions {
  /** Items per page of tools/list, resources/list and prompts/list. */
  pageSize?: number;
  /** `extra_<n>` filler tools, to make several pages. */
  extraTools?: number;
  resources?: number;
  prompts?: number;
  /** Listen on this port (default: any free one). */
  port?: number;
}

const objectSchema = (properties: Record<string, object>, required: string[]): Tool["inputSchema"] => ({ type: "object", properties, required });

function baseTools(extra: number): Tool[] {
  const tools: Tool[] = [
    { name: "echo", description: "Echoes its text", inputSchema: objectSchema({ text: { type: "string" } }, ["text"]), annotations: { readOnlyHint: true } },
    { name: "add", description: "Adds two numbers", inputSchema: objectSchema({ a: { type: "number" }, b: { type: "number" } }, ["a", "b"]) },
    { name: "fail", description: "Always answers a JSON-RPC error", inputSchema: objectSchema({}, []) },
    { name: "broken", description: "Runs and reports a failure (isError)", inputSchema: objectSchema({}, []) },
    { name: "sleep", description: "Waits ms milliseconds, reporting progress", inputSchema: objectSchema({ ms: { type: "number" } }, ["ms"]) },
  ];
  for (let i = 0; i < extra; i++) tools.push({ name: `extra_${i}`, inputSchema: objectSchema({}, []) });
  return tools;
}

function page<T>(items: T[], cursor: string | undefined, size: number): { items: T[]; nextCursor?: string } {
  const start = cursor ? Number(cursor) : 0;
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw new McpError(ErrorCode.InvalidParams, `bad cursor ${cursor}`);
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextCursor: String(end) } : {}) };
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      try {
        resolve(body ? JSON.parse(body) : undefined);
      } catch (err) {
        reject(err);
      }
    });
    req.on("error", reject);
  });
}

function jsonRpcError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message }, id: null }));
}

export async function startMcpTestServer(options: McpTestServerOptions = {}): Promise<McpTestServer> {
  const pageSize = options.pageSize ?? 1_000;
  const tools = baseTools(options.extraTools ?? 0);
  const resources = Array.from({ length: options.resources ?? 0 }, (_, i) => ({ uri: `test://resource/${i}`, name: `resource ${i}`, mimeType: "text/plain" }));
  const prompts = Array.from({ length: options.prompts ?? 0 }, (_, i) => ({ name: `prompt_${i}`, arguments: [{ name: "topic", required: false }] }));
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();
  const stats = { sessionsCreated: 0, expiredRequests: 0, cancelled: 0 };

  const newServer = (): Server => {
    const server = new Server({ name: "core-test-server", version: "1.0.0" }, { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} } });
    server.setRequestHandler(ListToolsRequestSchema, (req) => {
      const p = page(tools, req.params?.cursor, pageSize);
      return { tools: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
      const args = (req.params.arguments ?? {}) as Record<string, unknown>;
      switch (req.params.name) {
        case "echo":
          return { content: [{ type: "text", text: String(args.text) }] };
        case "add":
          return { content: [{ type: "text", text: String(Number(args.a) + Number(args.b)) }], structuredContent: { sum: Number(args.a) + Number(args.b) } };
        case "fail":
          throw new McpError(ErrorCode.InvalidParams, "fail always fails");
        case "broken":
          return { content: [{ type: "text", text: "the tool ran and failed" }], isError: true };
        case "sleep": {
          const ms = Number(args.ms);
          const token = extra._meta?.progressToken;
          const started = Date.now();
          while (Date.now() - started < ms) {
            if (extra.signal.aborted) {
              stats.cancelled++;
              throw new McpError(ErrorCode.InternalError, "cancelled");
            }
            await new Promise((r) => setTimeout(r, 50));
            if (token !== undefined) {
              await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: Date.now() - started, total: ms } });
            }
          }
          return { content: [{ type: "text", text: `slept ${ms} ms` }] };
        }
      }
      if (tools.some((t) => t.name === req.params.name)) return { content: [{ type: "text", text: `${req.params.name} ran` }] };
      throw new McpError(ErrorCode.InvalidParams, `Tool ${req.params.name} not found`);
    });
    server.setRequestHandler(ListResourcesRequestSchema, (req) => {
      const p = page(resources, req.params?.cursor, pageSize);
      return { resources: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [{ uriTemplate: "test://resource/{n}", name: "numbered resource" }] }));
    server.setRequestHandler(ReadResourceRequestSchema, (req) => {
      if (!resources.some((r) => r.uri === req.params.uri)) throw new McpError(ErrorCode.InvalidParams, `no resource ${req.params.uri}`);
      return { contents: [{ uri: req.params.uri, mimeType: "text/plain", text: `contents of ${req.params.uri}` }] };
    });
    server.setRequestHandler(ListPromptsRequestSchema, (req) => {
      const p = page(prompts, req.params?.cursor, pageSize);
      return { prompts: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
    });
    server.setRequestHandler(GetPromptRequestSchema, (req) => ({
      messages: [{ role: "user", content: { type: "text", text: `${req.params.name} about ${req.params.arguments?.topic ?? "nothing"}` } }],
    }));
    return server;
  };

  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      try {
        const sessionId = req.headers["mcp-session-id"];
        const body = req.method === "POST" ? await readBody(req) : undefined;
        if (typeof sessionId === "string") {
          const session = sessions.get(sessionId);
          if (!session) {
            stats.expiredRequests++;
            jsonRpcError(res, 404, "Session not found");
            return;
          }
          await session.transport.handleRequest(req, res, body);
          return;
        }
        if (req.method !== "POST" || !isInitializeRequest(body)) {
          jsonRpcError(res, 400, "Bad Request: No valid session ID provided");
          return;
        }
        const server = newServer();
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            stats.sessionsCreated++;
            sessions.set(id, { transport, server });
          },
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
      } catch (err) {
        if (!res.headersSent) jsonRpcError(res, 500, (err as Error).message);
      }
    })();
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get sessionsCreated() {
      return stats.sessionsCreated;
    },
    get expiredRequests() {
      return stats.expiredRequests;
    },
    get cancelled() {
      return stats.cancelled;
    },
    async addTool(name: string) {
      tools.push({ name, description: `added at runtime`, inputSchema: objectSchema({}, []) });
      await Promise.all([...sessions.values()].map((s) => s.server.sendToolListChanged().catch(() => undefined)));
    },
    forgetSessions() {
      const forgotten = [...sessions.values()];
      sessions.clear();
      for (const s of forgotten) {
        s.transport.onclose = undefined;
        void s.server.close().catch(() => undefined);
      }
    },
    async close() {
      for (const s of sessions.values()) await s.server.close().catch(() => undefined);
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
