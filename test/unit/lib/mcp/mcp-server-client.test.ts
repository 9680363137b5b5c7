import type { McpServerConfig } from "../../../../config/file-schema";
import { CircuitOpenError, DeadlineExceededError, UnavailableError } from "../../../../lib/errors";
import { McpCallCancelledError, McpToolNotFoundError, McpUpstreamError } from "../../../../lib/errors/mcp-errors";
import { ProviderBreaker } from "../../../../lib/experts/provider-breaker";
import type { McpTool } from "../../../../lib/mcp/mcp-actor-contract";
import { McpServerClient, type McpServerClientOptions } from "../../../../lib/mcp/mcp-server-client";
import { freePort } from "../../../helpers/free-port";
import { startMcpTestServer, type McpTestServer } from "../../../helpers/mcp-test-server";
import { waitFor } from "../../../helpers/wait";

/**
 * McpServerClient against a real MCP server (built with the SDK, Streamable
 * HTTP, in this process): pages, allow globs, errors, deadlines,
 * cancellation, progress, list_changed and a forgotten session.
 */

let server: McpTestServer;
const clients: McpServerClient[] = [];

beforeAll(async () => {
  server = await startMcpTestServer({ pageSize: 4, extraTools: 9, resources: 11, prompts: 6 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function config(overrides: Partial<McpServerConfig> = {}): McpServerConfig {
  return { name: "test", transport: "http", url: server.url, args: [], env: {}, headers: {}, ...overrides };
}

async function connected(overrides: Partial<McpServerConfig> = {}, options: Partial<McpServerClientOptions> = {}): Promise<McpServerClient> {
  const client = new McpServerClient({ server: config(overrides), ...options });
  clients.push(client);
  await client.start();
  return client;
}

const soon = (ms = 5_000) => ({ deadline: Date.now() + ms });

describe("McpServerClient", () => {
  it("loads every page of the tool list, and of resources and prompts", async () => {
    const changes: McpTool[][] = [];
    const client = await connected({}, { onToolsChanged: (tools) => changes.push(tools) });
    // 5 tools + 9 fillers in pages of 4: four pages.
    expect(client.tools().map((t) => t.name)).toEqual(["echo", "add", "fail", "broken", "sleep", ...Array.from({ length: 9 }, (_, i) => `extra_${i}`)]);
    expect(client.tools()[0]).toEqual({ name: "echo", description: "Echoes its text", inputSchema: expect.objectContaining({ type: "object", required: ["text"] }), annotations: { readOnlyHint: true } });
    // Connecting announces the catalogue.
    expect(changes).toHaveLength(1);
    const resources = await client.listResources(soon());
    expect(resources.resources.map((r) => r.uri)).toEqual(Array.from({ length: 11 }, (_, i) => `test://resource/${i}`));
    expect(resources.resourceTemplates).toEqual([{ uriTemplate: "test://resource/{n}", name: "numbered resource" }]);
    expect((await client.listPrompts(soon())).prompts.map((p) => p.name)).toEqual(Array.from({ length: 6 }, (_, i) => `prompt_${i}`));
    expect(await client.readResource("test://resource/3", soon())).toEqual({ contents: [{ uri: "test://resource/3", mimeType: "text/plain", text: "contents of test://resource/3" }] });
    expect((await client.getPrompt("prompt_1", { topic: "tides" }, soon())).messages).toEqual([{ role: "user", content: { type: "text", text: "prompt_1 about tides" } }]);
    expect(client.status()).toMatchObject({ server: "test", transport: "http", connected: true, tools: 14, circuit: "closed", serverInfo: { name: "core-test-server", version: "1.0.0" } });
  });

  it("stops reading pages at the cap", async () => {
    const client = await connected({}, { maxPages: 2 });
    expect(client.tools()).toHaveLength(8);
  });

  it("calls tools: results as the server gave them, isError included", async () => {
    const client = await connected();
    expect(await client.callTool("echo", { text: "hello" }, soon())).toEqual({ content: [{ type: "text", text: "hello" }] });
    expect(await client.callTool("add", { a: 2, b: 40 }, soon())).toEqual({ content: [{ type: "text", text: "42" }], structuredContent: { sum: 42 } });
    expect(await client.callTool("broken", {}, soon())).toEqual({ content: [{ type: "text", text: "the tool ran and failed" }], isError: true });
  });

  it("hides what allow does not admit, and calling it is MCP_TOOL_NOT_FOUND like an unknown tool", async () => {
    const client = await connected({ allow: ["e*", "add", "!extra_*"] });
    expect(client.tools().map((t) => t.name)).toEqual(["echo", "add"]);
    const hidden = await client.callTool("sleep", { ms: 1 }, soon()).catch((e: unknown) => e);
    const unknown = await client.callTool("nope", {}, soon()).catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(McpToolNotFoundError);
    expect(unknown).toBeInstanceOf(McpToolNotFoundError);
    expect((hidden as Error).message).toBe('MCP server test has no tool "sleep"');
    expect((unknown as Error).message).toBe('MCP server test has no tool "nope"');
  });

  it("a JSON-RPC error is MCP_UPSTREAM_ERROR and does not count against the breaker", async () => {
    const breaker = new ProviderBreaker("MCP server test", { failures: 2, halfOpenAfterMs: 60_000 });
    const client = await connected({}, { breaker });
    for (let i = 0; i < 3; i++) {
      const err = await client.callTool("fail", {}, soon()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(McpUpstreamError);
      expect((err as Error).message).toBe("MCP server test answered tools/call fail with error -32602: fail always fails");
    }
    expect(client.circuit).toBe("closed");
  });

  it("a call past its deadline is DEADLINE_EXCEEDED and is cancelled upstream", async () => {
    const client = await connected();
    const before = server.cancelled;
    const started = Date.now();
    const err = await client.callTool("sleep", { ms: 5_000 }, { deadline: Date.now() + 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(1_500);
    await waitFor(() => server.cancelled > before, 3_000, "the server to see the cancellation");
  });

  it("reports progress, and an abort cancels the call upstream at once", async () => {
    const client = await connected();
    const progress: number[] = [];
    const abort = new AbortController();
    const before = server.cancelled;
    const call = client.callTool("sleep", { ms: 10_000 }, { deadline: Date.now() + 20_000, signal: abort.signal, onProgress: (p) => progress.push(p.progress) });
    await waitFor(() => progress.length >= 2, 5_000, "progress");
    const aborted = Date.now();
    abort.abort();
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpCallCancelledError);
    expect(Date.now() - aborted).toBeLessThan(200);
    await waitFor(() => server.cancelled > before, 3_000, "the server to see the cancellation");
    expect(progress[1]!).toBeGreaterThan(progress[0]!);
  });

  it("reloads the catalogue on notifications/tools/list_changed", async () => {
    const changes: string[][] = [];
    const client = await connected({}, { onToolsChanged: (tools) => changes.push(tools.map((t) => t.name)) });
    await server.addTool("added_at_runtime");
    await waitFor(() => client.tools().some((t) => t.name === "added_at_runtime"), 5_000, "the new tool");
    expect(changes.at(-1)).toContain("added_at_runtime");
    expect(await client.callTool("added_at_runtime", {}, soon())).toEqual({ content: [{ type: "text", text: "added_at_runtime ran" }] });
  });

  it("initialises a new session, transparently, when the server forgot ours (404)", async () => {
    const client = await connected();
    const sessions = server.sessionsCreated;
    const expired = server.expiredRequests;
    server.forgetSessions();
    expect(await client.callTool("echo", { text: "still here" }, soon())).toEqual({ content: [{ type: "text", text: "still here" }] });
    expect(server.expiredRequests).toBeGreaterThan(expired);
    expect(server.sessionsCreated).toBe(sessions + 1);
    expect(client.connected).toBe(true);
  });

  it("an unreachable server is UNAVAILABLE (retryable), then its open breaker CIRCUIT_OPEN; it connects once it is there", async () => {
    const port = await freePort();
    const breaker = new ProviderBreaker("MCP server gone", { failures: 2, halfOpenAfterMs: 200 });
    const client = new McpServerClient({ server: config({ name: "gone", url: `http://127.0.0.1:${port}/mcp` }), breaker });
    clients.push(client);
    const startErr = await client.start().catch((e: unknown) => e);
    expect(startErr).toBeInstanceOf(UnavailableError);
    expect(client.status()).toMatchObject({ connected: false, tools: 0, lastError: expect.stringContaining("ECONNREFUSED") });
    for (let i = 0; i < 2; i++) {
      const err = await client.callTool("echo", { text: "x" }, soon()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).retryable).toBe(true);
    }
    expect(await client.callTool("echo", { text: "x" }, soon()).catch((e: unknown) => e)).toBeInstanceOf(CircuitOpenError);
    expect(client.status().circuit).toBe("open");
    // A health check while disconnected connects (here: still nothing there) and never throws for a remote server.
    await expect(client.health()).resolves.toBeUndefined();
  });

  it("a remote server reached later is connected by the next call", async () => {
    const later = await startMcpTestServer();
    const client = new McpServerClient({ server: config({ name: "later", url: later.url }) });
    clients.push(client);
    // Not started: the first call connects and loads the catalogue.
    expect(await client.callTool("echo", { text: "first" }, soon())).toEqual({ content: [{ type: "text", text: "first" }] });
    expect(client.tools().length).toBe(5);
    await later.close();
  });
});
