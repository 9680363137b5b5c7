import { PassThrough } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { InvalidApiKeyError } from "../../../../lib/errors";
import { silentLogger } from "../../../../lib/logger";
import type { McpCallToolResult } from "../../../../lib/mcp/mcp-actor-contract";
import type { GatewayCaller } from "../../../../lib/mcp-gateway/gateway-caller";
import { serveMcpStdio, stdioCaller } from "../../../../lib/mcp-gateway/mcp-stdio";
import type { GatewayTool, ToolGateway } from "../../../../lib/mcp-gateway/tool-gateway";

describe("stdioCaller", () => {
  it("is the trusted in-cluster caller without a credential", async () => {
    expect(await stdioCaller(undefined)()).toEqual({ principal: undefined, source: "stdio" });
  });

  it("authenticates once per period, and again after a failure", async () => {
    const clock = { now: 0 };
    let calls = 0;
    let fail = false;
    const caller = stdioCaller(
      async () => {
        calls++;
        if (fail) throw new InvalidApiKeyError("The API key is not valid.");
        return { id: "key-1", roles: ["viewer"] };
      },
      30_000,
      () => clock.now,
    );
    expect(await caller()).toEqual({ principal: { id: "key-1", roles: ["viewer"] }, source: "stdio" });
    await caller();
    expect(calls).toBe(1);
    clock.now = 31_000;
    fail = true;
    await expect(caller()).rejects.toMatchObject({ code: "AUTH_INVALID_KEY" });
    fail = false;
    await expect(caller()).resolves.toMatchObject({ principal: { id: "key-1" } });
    expect(calls).toBe(3);
  });
});

/** A client transport over a pair of streams (the SDK's own spawns a process). */
function streamTransport(input: PassThrough, output: PassThrough): Transport {
  let buffer = "";
  const transport: Transport = {
    async start() {
      input.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) transport.onmessage?.(JSON.parse(line) as JSONRPCMessage);
        }
      });
    },
    async send(message) {
      output.write(`${JSON.stringify(message)}\n`);
    },
    async close() {
      output.end();
      transport.onclose?.();
    },
  };
  return transport;
}

describe("serveMcpStdio", () => {
  it("serves one session on a pair of streams and ends when its input ends", async () => {
    const gateway: ToolGateway = {
      listTools: async (): Promise<GatewayTool[]> => [{ name: "demo__echo", server: "demo", tool: "echo", inputSchema: { type: "object" } }],
      callTool: async (caller: GatewayCaller): Promise<McpCallToolResult> => ({ content: [{ type: "text", text: `as ${caller.principal?.id ?? "operator"} via ${caller.source}` }] }),
      onToolsChanged: () => () => undefined,
    };
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const session = await serveMcpStdio({ gateway, callerOf: stdioCaller(undefined), logger: silentLogger, stdin: toServer, stdout: fromServer });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(streamTransport(fromServer, toServer));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["demo__echo"]);
    expect(await client.callTool({ name: "demo__echo", arguments: {} })).toEqual({ content: [{ type: "text", text: "as operator via stdio" }] });
    await client.close();
    await session.closed;
  });
});
