import { UnavailableError } from "../../../../lib/errors";
import { MCP_CANCEL_EVENT } from "../../../../lib/mcp/mcp-actor-contract";
import { RemoteToolGateway, type GatewayServiceClient } from "../../../../lib/mcp-gateway/remote-tool-gateway";

function client(answer: (action: string, params: Record<string, unknown>) => Promise<unknown>) {
  const calls: Array<{ action: string; params: Record<string, unknown>; principal: unknown; timeoutMs: number }> = [];
  const broadcasts: Array<{ event: string; payload: unknown }> = [];
  const c: GatewayServiceClient = {
    async call<T>(action: string, params: object, options: { principal: unknown; timeoutMs: number }): Promise<T> {
      calls.push({ action, params: params as Record<string, unknown>, principal: options.principal, timeoutMs: options.timeoutMs });
      return (await answer(action, params as Record<string, unknown>)) as T;
    },
    broadcast: (event, payload) => void broadcasts.push({ event, payload }),
  };
  return { c, calls, broadcasts };
}

const viewer = { principal: { id: "k1", roles: ["viewer"] }, source: "stdio" };

describe("RemoteToolGateway", () => {
  it("lists through mcp-gateway.tools as the caller", async () => {
    const { c, calls } = client(async () => ({ tools: [{ name: "demo__echo", server: "demo", tool: "echo", inputSchema: { type: "object" } }] }));
    const remote = new RemoteToolGateway(c);
    expect((await remote.listTools(viewer)).map((t) => t.name)).toEqual(["demo__echo"]);
    expect(calls[0]).toMatchObject({ action: "mcp-gateway.tools", params: {}, principal: viewer.principal });
  });

  it("calls through mcp-gateway.call by name with its own progress token and call id, relaying progress and broadcasting a cancel", async () => {
    const aborter = new AbortController();
    const progress: unknown[] = [];
    const late: { remote?: RemoteToolGateway } = {};
    const { c, calls, broadcasts } = client(async (_action, params) => {
      const remote = late.remote!;
      remote.deliverProgress({ progressToken: "other", progress: 5 });
      remote.deliverProgress({ progressToken: String(params.progressToken), progress: 1, total: 2 });
      aborter.abort();
      return { content: [{ type: "text", text: "done" }] };
    });
    const remote = (late.remote = new RemoteToolGateway(c));
    const result = await remote.callTool(viewer, { name: "demo__echo" }, { message: "hi" }, { onProgress: (p) => progress.push(p), signal: aborter.signal });
    expect(result).toEqual({ content: [{ type: "text", text: "done" }] });
    expect(calls[0]).toMatchObject({
      action: "mcp-gateway.call",
      params: { name: "demo__echo", arguments: { message: "hi" }, progressToken: expect.any(String), callId: expect.any(String) },
      timeoutMs: 120_000,
    });
    expect(progress).toEqual([{ progress: 1, total: 2 }]);
    expect(broadcasts).toEqual([{ event: MCP_CANCEL_EVENT, payload: { callId: calls[0]!.params.callId, reason: "cancelled by the client" } }]);
  });

  it("passes the gateway's errors on, and tells its listeners when the catalogue changed", async () => {
    const { c } = client(async () => {
      throw new UnavailableError("down");
    });
    const remote = new RemoteToolGateway(c);
    await expect(remote.callTool(viewer, { name: "x__y" }, {})).rejects.toMatchObject({ code: "UNAVAILABLE" });
    let changed = 0;
    const stop = remote.onToolsChanged(() => changed++);
    remote.catalogueChanged();
    stop();
    remote.catalogueChanged();
    expect(changed).toBe(1);
  });
});
