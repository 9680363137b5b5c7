import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { AccessTokenExpiredError, ForbiddenError, RateLimitedError, UnavailableError, ValidationError } from "../../../../lib/errors";
import { McpToolNotFoundError } from "../../../../lib/errors/mcp-errors";
import { silentLogger } from "../../../../lib/logger";
import type { McpCallToolResult } from "../../../../lib/mcp/mcp-actor-contract";
import type { GatewayCaller } from "../../../../lib/mcp-gateway/gateway-caller";
import { createGatewayMcpServer } from "../../../../lib/mcp-gateway/gateway-mcp-server";
import type { GatewayTool, ToolCallOptions, ToolGateway, ToolTarget } from "../../../../lib/mcp-gateway/tool-gateway";
import { waitFor } from "../../../helpers/wait";

/** A ToolGateway whose answers the test sets, recording what the server asked. */
class FakeGateway implements ToolGateway {
  calls: Array<{ caller: GatewayCaller; target: ToolTarget; args: unknown; options: ToolCallOptions }> = [];
  listeners = new Set<() => void>();
  tools: GatewayTool[] = [
    {
      name: "demo__echo",
      server: "demo",
      tool: "echo",
      title: "Echo",
      description: "echoes",
      inputSchema: { type: "object", properties: { message: { type: "string" } } },
      outputSchema: { type: "object", properties: { echoed: { type: "string" } } },
      annotations: { readOnlyHint: true },
    },
  ];
  answer: (options: ToolCallOptions) => Promise<McpCallToolResult> = async () => ({ content: [{ type: "text", text: "ok" }] });

  async listTools(): Promise<GatewayTool[]> {
    return this.tools;
  }

  callTool(caller: GatewayCaller, target: ToolTarget, args: Record<string, unknown> | undefined, options: ToolCallOptions = {}): Promise<McpCallToolResult> {
    this.calls.push({ caller, target, args, options });
    return this.answer(options);
  }

  onToolsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

async function connect(gateway: FakeGateway, callerOf: () => GatewayCaller = () => ({ principal: { id: "u1", roles: ["operator"] }, source: "test" })) {
  const server = createGatewayMcpServer({ gateway, callerOf, logger: silentLogger });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientSide);
  return { server, client };
}

describe("the gateway's MCP server", () => {
  it("says it is CORE with tools that may change, and lists the caller's tools with their schemas and annotations", async () => {
    const gateway = new FakeGateway();
    const { client } = await connect(gateway);
    expect(client.getServerVersion()).toMatchObject({ name: "core" });
    expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true } });
    expect(client.getInstructions()).toMatch(/<server>__<tool>/);
    const { tools } = await client.listTools();
    expect(tools).toEqual([
      {
        name: "demo__echo",
        title: "Echo",
        description: "echoes",
        inputSchema: { type: "object", properties: { message: { type: "string" } } },
        outputSchema: { type: "object", properties: { echoed: { type: "string" } } },
        annotations: { readOnlyHint: true },
      },
    ]);
    await client.close();
  });

  it("calls through the gateway by namespaced name, as the caller", async () => {
    const gateway = new FakeGateway();
    gateway.answer = async () => ({ content: [{ type: "text", text: "hi" }], structuredContent: { echoed: "hi" } });
    const { client } = await connect(gateway);
    const result = await client.callTool({ name: "demo__echo", arguments: { message: "hi" } });
    expect(result).toEqual({ content: [{ type: "text", text: "hi" }], structuredContent: { echoed: "hi" } });
    expect(gateway.calls[0]).toMatchObject({ caller: { principal: { id: "u1" } }, target: { name: "demo__echo" }, args: { message: "hi" } });
    await client.close();
  });

  it("answers an unknown tool with JSON-RPC error -32602, keeping the session", async () => {
    const gateway = new FakeGateway();
    gateway.answer = async () => {
      throw new McpToolNotFoundError("Unknown tool demo__nope");
    };
    const { client } = await connect(gateway);
    const err = (await client.callTool({ name: "demo__nope", arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(err).toBeInstanceOf(McpError);
    expect(err.code).toBe(-32602);
    expect(err.message).toMatch(/Unknown tool: demo__nope/);
    gateway.answer = async () => ({ content: [{ type: "text", text: "still here" }] });
    await expect(client.callTool({ name: "demo__echo", arguments: {} })).resolves.toMatchObject({ content: [{ text: "still here" }] });
    await client.close();
  });

  it.each([
    ["a refusal", new ForbiddenError("v (role viewer) may not call demo/secret: it needs permission mcp:call:demo/secret"), /^Not allowed to call demo__echo: v \(role viewer\) may not call/, "FORBIDDEN", false],
    ["a rate limit", new RateLimitedError("Too many requests: retry in 3 s", { data: { retryAfterSec: 3 } }), /^Rate limit for demo__echo reached: Too many requests: retry in 3 s/, "RATE_LIMITED", true],
    ["an upstream server down", new UnavailableError("MCP server demo is not connected"), /^demo__echo failed: MCP server demo is not connected \[UNAVAILABLE\]; this is temporary/, "UNAVAILABLE", true],
    ["invalid arguments", new ValidationError("Invalid arguments", { issues: [{ field: "question", message: "a question that is not blank" }] }), /^Invalid arguments for demo__echo: Invalid arguments: question: a question that is not blank/, "VALIDATION_FAILED", false],
    ["an unexpected error", new Error("kaboom"), /^demo__echo failed: Internal error \[INTERNAL\]$/, "INTERNAL", false],
  ])("answers %s as a tool error the model can read", async (_what, thrown, text, code, retryable) => {
    const gateway = new FakeGateway();
    gateway.answer = async () => {
      throw thrown;
    };
    const { client } = await connect(gateway);
    const result = await client.callTool({ name: "demo__echo", arguments: {} });
    expect(result.isError).toBe(true);
    expect((result.content as Array<{ text: string }>)[0]!.text).toMatch(text);
    expect(result._meta).toMatchObject({ "core/error": { code, retryable } });
    await client.close();
  });

  it("refuses a call whose credential no longer holds with a tool error", async () => {
    const gateway = new FakeGateway();
    const { client } = await connect(gateway, () => {
      throw new AccessTokenExpiredError("The access token has expired");
    });
    const result = await client.callTool({ name: "demo__echo", arguments: {} });
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^Not allowed to call demo__echo: The access token has expired/) }] });
    expect(gateway.calls).toHaveLength(0);
    await client.close();
  });

  it("forwards progress to the client under its own token", async () => {
    const gateway = new FakeGateway();
    gateway.answer = async (options) => {
      options.onProgress?.({ progress: 1, total: 3, message: "one" });
      options.onProgress?.({ progress: 3, total: 3 });
      await new Promise((r) => setTimeout(r, 20));
      return { content: [] };
    };
    const { client } = await connect(gateway);
    const seen: unknown[] = [];
    await client.callTool({ name: "demo__echo", arguments: {} }, undefined, { onprogress: (p) => seen.push(p) });
    expect(seen).toEqual([
      { progress: 1, total: 3, message: "one" },
      { progress: 3, total: 3 },
    ]);
    // Without a progress token the gateway is not asked to report any.
    await client.callTool({ name: "demo__echo", arguments: {} });
    expect(gateway.calls[1]!.options.onProgress).toBeUndefined();
    await client.close();
  });

  it("aborts the gateway call when the client cancels it", async () => {
    const gateway = new FakeGateway();
    let aborted = false;
    gateway.answer = (options) =>
      new Promise((resolve) => {
        options.signal?.addEventListener("abort", () => {
          aborted = true;
          resolve({ content: [] });
        });
      });
    const { client } = await connect(gateway);
    const controller = new AbortController();
    const pending = client.callTool({ name: "demo__echo", arguments: {} }, undefined, { signal: controller.signal });
    await waitFor(() => gateway.calls.length === 1, 2_000, "the call to reach the gateway");
    controller.abort("changed my mind");
    await expect(pending).rejects.toThrow();
    await waitFor(() => aborted, 2_000, "the gateway call to be aborted");
    await client.close();
  });

  it("tells the client when the catalogue changed, and stops listening once closed", async () => {
    const gateway = new FakeGateway();
    const { client } = await connect(gateway);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    for (const listener of gateway.listeners) listener();
    await waitFor(() => changed === 1, 2_000, "notifications/tools/list_changed");
    await client.close();
    await waitFor(() => gateway.listeners.size === 0, 2_000, "the server to unsubscribe");
  });
});
