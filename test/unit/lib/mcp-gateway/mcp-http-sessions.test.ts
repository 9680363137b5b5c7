import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { silentLogger } from "../../../../lib/logger";
import type { McpCallToolResult } from "../../../../lib/mcp/mcp-actor-contract";
import type { GatewayCaller } from "../../../../lib/mcp-gateway/gateway-caller";
import { McpHttpSessions } from "../../../../lib/mcp-gateway/mcp-http-sessions";
import type { GatewayTool, ToolCallOptions, ToolGateway, ToolTarget } from "../../../../lib/mcp-gateway/tool-gateway";
import { waitFor } from "../../../helpers/wait";

/** Echoes the caller's id, so a test sees whose request it was. */
class WhoAmIGateway implements ToolGateway {
  listeners = new Set<() => void>();
  tools: GatewayTool[] = [{ name: "demo__whoami", server: "demo", tool: "whoami", inputSchema: { type: "object" } }];
  async listTools(): Promise<GatewayTool[]> {
    return this.tools;
  }
  async callTool(caller: GatewayCaller, target: ToolTarget, _args?: unknown, options: ToolCallOptions = {}): Promise<McpCallToolResult> {
    // Answers only once cancelled.
    if ("name" in target && target.name === "demo__slow") await new Promise((resolve) => options.signal?.addEventListener("abort", resolve));
    return { content: [{ type: "text", text: `${caller.principal?.id} from ${caller.source}` }] };
  }
  onToolsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

let http: HttpServer;
let url: URL;
let sessions: McpHttpSessions;
const gateway = new WhoAmIGateway();

beforeAll(async () => {
  sessions = new McpHttpSessions({ gateway, logger: silentLogger, idleMs: 400, allowedOrigins: ["https://app.example.com"] });
  // Stands in for the api service: the "edge" takes the principal from a header and parses the body.
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const user = String(req.headers["x-user"] ?? "alice");
      void sessions.handle(req, res, text ? JSON.parse(text) : undefined, { id: user, roles: ["operator"] }, "198.51.100.1");
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
});

afterAll(async () => {
  await sessions.close();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

async function connect(user = "alice") {
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { "X-User": user } } });
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

describe("McpHttpSessions", () => {
  it("opens a session on initialize and serves its requests as the request's principal", async () => {
    const { client, transport } = await connect();
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["demo__whoami"]);
    expect(await client.callTool({ name: "demo__whoami", arguments: {} })).toEqual({ content: [{ type: "text", text: "alice from 198.51.100.1" }] });
    await transport.terminateSession();
    await client.close();
  });

  it("answers a session id of someone else's as unknown (404), and a request without one that is not initialize with 400", async () => {
    const { client, transport } = await connect("alice");
    const post = (headers: Record<string, string>) =>
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", "X-User": "mallory", ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      });
    const stolen = await post({ "Mcp-Session-Id": transport.sessionId!, "Mcp-Protocol-Version": "2025-06-18" });
    expect(stolen.status).toBe(404);
    expect(await stolen.json()).toEqual({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
    const unknown = await post({ "Mcp-Session-Id": "00000000-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(404);
    const none = await post({});
    expect(none.status).toBe(400);
    await transport.terminateSession();
    await client.close();
  });

  it("ends a session on DELETE", async () => {
    const before = sessions.size;
    const { client, transport } = await connect();
    expect(sessions.size).toBe(before + 1);
    await transport.terminateSession();
    await waitFor(() => sessions.size === before, 2_000, "the session to close");
    await client.close();
  });

  it("closes a session nobody uses, but not while its client listens", async () => {
    const before = sessions.size;
    const { client } = await connect();
    expect(sessions.size).toBe(before + 1);
    // The client's GET stream is open: the session stays, well past its idle time.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sessions.size).toBe(before + 1);
    expect(await client.listTools()).toBeDefined();
    // Gone without a DELETE: the stream closes, the sweeper ends the session (a probe would count as use, so watch the count).
    await client.close();
    await waitFor(() => sessions.size === before, 5_000, "the idle session to expire");
  });

  it("sends tools/list_changed to a connected client", async () => {
    const { client, transport } = await connect();
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    // The client opens its GET stream after initialising; notify until it is there.
    await waitFor(
      () => {
        for (const listener of gateway.listeners) listener();
        return changed > 0;
      },
      5_000,
      "notifications/tools/list_changed",
    );
    await transport.terminateSession();
    await client.close();
  });

  it("answers a plain request with JSON, one that asks for progress with an event stream, and ends a cancelled one", async () => {
    const { client, transport } = await connect();
    const post = (message: object) =>
      fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "Mcp-Session-Id": transport.sessionId!,
          "Mcp-Protocol-Version": "2025-06-18",
        },
        body: JSON.stringify({ jsonrpc: "2.0", ...message }),
      });
    const plain = await post({ id: 11, method: "tools/call", params: { name: "demo__whoami", arguments: {} } });
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.headers.get("mcp-session-id")).toBe(transport.sessionId);
    expect(await plain.json()).toEqual({ jsonrpc: "2.0", id: 11, result: { content: [{ type: "text", text: "alice from 198.51.100.1" }] } });
    const unknown = await post({ id: 12, method: "prompts/list", params: {} });
    expect(await unknown.json()).toMatchObject({ jsonrpc: "2.0", id: 12, error: { code: -32601 } });
    const progress = await post({ id: 13, method: "tools/call", params: { name: "demo__whoami", arguments: {}, _meta: { progressToken: "p" } } });
    expect(progress.headers.get("content-type")).toBe("text/event-stream");
    expect(await progress.text()).toContain('"id":13');
    const slow = post({ id: 14, method: "tools/call", params: { name: "demo__slow", arguments: {} } });
    await new Promise((r) => setTimeout(r, 50));
    expect((await post({ method: "notifications/cancelled", params: { requestId: 14, reason: "test" } })).status).toBe(202);
    const cancelled = await slow;
    expect(cancelled.headers.get("content-type")).toBe("text/event-stream");
    expect(await cancelled.text()).toBe("");
    await transport.terminateSession();
    await client.close();
  });

  it("refuses a browser origin it was not told to trust", async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", Origin: "https://evil.example" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(res.status).toBe(403);
    const ok = await connectWithOrigin("https://app.example.com");
    expect(ok).toBe(true);
  });
});

async function connectWithOrigin(origin: string): Promise<boolean> {
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { Origin: origin } } });
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  await transport.terminateSession();
  await client.close();
  return true;
}
