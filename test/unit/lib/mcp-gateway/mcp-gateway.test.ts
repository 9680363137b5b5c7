import { DEFAULT_ROLES } from "../../../../config/default-roles";
import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { ForbiddenError, UnavailableError, type CoreError } from "../../../../lib/errors";
import { silentLogger } from "../../../../lib/logger";
import type { McpCallToolParams, McpCallToolResult, McpCancel, McpTool } from "../../../../lib/mcp/mcp-actor-contract";
import { McpGateway, type BackendCall, type McpGatewayBackend, type ToolCallAudit } from "../../../../lib/mcp-gateway/mcp-gateway";
import { toolRateLimits } from "../../../../lib/mcp-gateway/tool-rate-limits";
import type { GatewayCaller } from "../../../../lib/mcp-gateway/gateway-caller";
import { RateLimiter } from "../../../../lib/ratelimit/rate-limiter";
import { AccessPolicy } from "../../../../lib/security/access-policy";

const tool = (name: string): McpTool => ({ name, description: `the ${name} tool`, inputSchema: { type: "object" } });

interface Recorded {
  server: string;
  params: McpCallToolParams;
  call: BackendCall;
}

/** A cluster with MCP servers `demo` and `files`; calls answer as the test says. */
function backend() {
  const calls: Recorded[] = [];
  const actions: Array<{ action: string; params: Record<string, unknown>; call: BackendCall }> = [];
  const cancels: McpCancel[] = [];
  let answer: (r: Recorded) => Promise<McpCallToolResult> = async (r) => ({ content: [{ type: "text", text: `${r.params.tool}: ${JSON.stringify(r.params.arguments ?? {})}` }] });
  const b: McpGatewayBackend = {
    servers: () => ["demo", "files"],
    listTools: async (server) => ({ server, tools: server === "demo" ? [tool("echo"), tool("add"), tool("secret")] : [tool("read")] }),
    callTool: (server, params, call) => {
      const r = { server, params, call };
      calls.push(r);
      return answer(r);
    },
    callAction: async (action, params, call) => {
      actions.push({ action, params, call });
      if (action === "circle.experts") return [{ id: "one" }];
      if (action === "supervisor.actors") return { actors: [{ name: "mcp.demo" }], unreachable: [] };
      return { id: "c1", question: params.question, experts: [], outcomes: [], quorum: { required: 1, answered: 0 }, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, durationMs: 1 };
    },
    readiness: async () => ({ status: "ready" }),
    cancel: (c) => void cancels.push(c),
  };
  return { backend: b, calls, actions, cancels, answer: (fn: typeof answer) => (answer = fn) };
}

const roles = {
  ...DEFAULT_ROLES,
  // Sees the demo server's echo and add, and may read experts.
  demo: { permissions: ["mcp:list", "mcp:call:demo/echo", "mcp:call:demo/add", "experts:read"], inherits: [] },
};

function gateway(options: { limiter?: RateLimiter } = {}) {
  const b = backend();
  const audits: ToolCallAudit[] = [];
  const g = new McpGateway({ backend: b.backend, policy: new AccessPolicy(roles), logger: silentLogger, audit: (e) => audits.push(e), ...options });
  return { ...b, audits, gateway: g };
}

const as = (id: string, role: string, scopes?: string[]): GatewayCaller => ({ principal: { id, roles: [role], ...(scopes ? { scopes } : {}) }, source: "203.0.113.9" });

describe("McpGateway: tools/list", () => {
  it("lists CORE's tools and every upstream tool namespaced for an admin", async () => {
    const { gateway: g } = gateway();
    const names = (await g.listTools(as("root", "admin"))).map((t) => t.name);
    expect(names).toEqual(["core__consult", "core__experts", "core__health", "demo__echo", "demo__add", "demo__secret", "files__read"]);
  });

  it("shows each caller only what its role (and its key's scopes) allows", async () => {
    const { gateway: g } = gateway();
    const names = async (caller: GatewayCaller) => (await g.listTools(caller)).map((t) => t.name);
    expect(await names(as("v", "viewer"))).toEqual(["core__experts", "core__health"]);
    expect(await names(as("d", "demo"))).toEqual(["core__experts", "demo__echo", "demo__add"]);
    expect(await names(as("op", "operator"))).toEqual(["core__consult", "core__experts", "core__health", "demo__echo", "demo__add", "demo__secret", "files__read"]);
    expect(await names(as("k", "operator", ["mcp:call:files/*"]))).toEqual(["files__read"]);
    // The in-cluster caller (core mcp without a token) sees everything.
    expect(await names({ principal: undefined, source: "stdio" })).toHaveLength(7);
  });

  it("keeps the upstream definition: schema, description, where it comes from", async () => {
    const { gateway: g } = gateway();
    const echo = (await g.listTools(as("root", "admin"))).find((t) => t.name === "demo__echo");
    expect(echo).toEqual({ name: "demo__echo", server: "demo", tool: "echo", description: "the echo tool", inputSchema: { type: "object" } });
    const consult = (await g.listTools(as("root", "admin"))).find((t) => t.name === "core__consult");
    expect(consult?.inputSchema).toMatchObject({ type: "object", properties: { question: { type: "string" }, experts: { type: "array" } }, required: ["question"] });
  });
});

describe("McpGateway: tools/call", () => {
  it("calls the actor with the upstream name, the caller's principal, a deadline and a call id; audits ok", async () => {
    const { gateway: g, calls, audits } = gateway();
    const result = await g.callTool(as("d", "demo"), { name: "demo__echo" }, { message: "hi" });
    expect(result.content).toEqual([{ type: "text", text: 'echo: {"message":"hi"}' }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.server).toBe("demo");
    expect(calls[0]!.params).toEqual({ tool: "echo", arguments: { message: "hi" }, callId: expect.any(String) });
    expect(calls[0]!.call).toMatchObject({ principal: { id: "d", roles: ["demo"] }, timeoutMs: 60_000, source: "203.0.113.9" });
    expect(audits).toEqual([{ principal: "d", target: "demo/echo", source: "203.0.113.9", requestId: calls[0]!.call.requestId, outcome: "ok" }]);
    // By server and tool (REST) it is the same call.
    await g.callTool(as("d", "demo"), { server: "demo", tool: "add" }, { a: 1, b: 2 });
    expect(calls[1]!.params.tool).toBe("add");
  });

  it("refuses a tool the role hides, without calling it, and audits the refusal as denied", async () => {
    const { gateway: g, calls, audits } = gateway();
    const err = (await g.callTool(as("v", "viewer"), { name: "demo__secret" }, {}).catch((e: unknown) => e)) as CoreError;
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.message).toBe("v (role viewer) may not call demo/secret: it needs permission mcp:call:demo/secret");
    expect(calls).toHaveLength(0);
    expect(audits).toEqual([expect.objectContaining({ principal: "v", target: "demo/secret", outcome: "denied", error: err })]);
  });

  it("answers MCP_TOOL_NOT_FOUND for a name no server has, and audits it as invalid", async () => {
    const { gateway: g, audits } = gateway();
    await expect(g.callTool(as("root", "admin"), { name: "demo__nope" }, {})).rejects.toMatchObject({ code: "MCP_TOOL_NOT_FOUND", status: 404 });
    await expect(g.callTool(as("root", "admin"), { name: "core__nope" }, {})).rejects.toMatchObject({ code: "MCP_TOOL_NOT_FOUND" });
    expect(audits.map((a) => [a.target, a.outcome])).toEqual([
      ["demo__nope", "invalid"],
      ["core__nope", "invalid"],
    ]);
  });

  it("passes an upstream failure on as the CoreError it is, audited as failed; a tool's own error result as failed too", async () => {
    const { gateway: g, audits, answer } = gateway();
    answer(async () => {
      throw new UnavailableError("MCP server demo is not connected");
    });
    await expect(g.callTool(as("root", "admin"), { name: "demo__echo" }, {})).rejects.toMatchObject({ code: "UNAVAILABLE", retryable: true });
    answer(async () => ({ content: [{ type: "text", text: "no such file" }], isError: true }));
    await expect(g.callTool(as("root", "admin"), { name: "files__read" }, {})).resolves.toMatchObject({ isError: true });
    expect(audits.map((a) => [a.target, a.outcome, a.error?.code])).toEqual([
      ["demo/echo", "failed", "UNAVAILABLE"],
      ["files/read", "failed", undefined],
    ]);
  });

  it("relays the actor's progress for its own fresh token only, and forgets the token after the call", async () => {
    const { gateway: g, answer } = gateway();
    const seen: unknown[] = [];
    answer(async (r) => {
      const token = r.params.progressToken!;
      expect(token).toMatch(/^[0-9a-f-]{36}$/);
      g.deliverProgress({ progressToken: "someone-else", progress: 9 });
      g.deliverProgress({ progressToken: token, progress: 1, total: 2, message: "half" });
      g.deliverProgress({ progressToken: token, progress: 2, total: 2 });
      return { content: [] };
    });
    await g.callTool(as("root", "admin"), { name: "demo__echo" }, {}, { onProgress: (p) => seen.push(p) });
    expect(seen).toEqual([
      { progress: 1, total: 2, message: "half" },
      { progress: 2, total: 2 },
    ]);
  });

  it("passes a front-end's own progress token and call id through unchanged", async () => {
    const { gateway: g, calls } = gateway();
    await g.callTool(as("root", "admin"), { name: "demo__echo" }, {}, { progressToken: "tok-1", callId: "call-1" });
    expect(calls[0]!.params).toMatchObject({ progressToken: "tok-1", callId: "call-1" });
  });

  it("broadcasts a cancel with the call's id when the client cancels", async () => {
    const { gateway: g, cancels, answer } = gateway();
    const aborter = new AbortController();
    let callId = "";
    answer(
      (r) =>
        new Promise((resolve) => {
          callId = r.params.callId!;
          aborter.abort();
          setTimeout(() => resolve({ content: [] }), 5);
        }),
    );
    await g.callTool(as("root", "admin"), { name: "demo__echo" }, {}, { signal: aborter.signal });
    expect(cancels).toEqual([{ callId, reason: expect.any(String) }]);
  });

  it("limits calls per principal and tool with MCP route keys, refusing with RATE_LIMITED", async () => {
    const clock = { now: 1_000_000 };
    const limits = toolRateLimits({
      routes: { "MCP /demo/echo": { capacity: 2, refillPerSecond: 0.001 }, "POST /api/v1/*": { capacity: 1, refillPerSecond: 0.001 } },
    });
    expect(Object.keys(limits.routes)).toEqual(["MCP /demo/echo"]);
    const { gateway: g, calls, audits } = gateway({ limiter: new RateLimiter(limits, new MemorySharedStore(() => clock.now)) });
    const alice = as("alice", "operator");
    await g.callTool(alice, { name: "demo__echo" }, {});
    await g.callTool(alice, { name: "demo__echo" }, {});
    await expect(g.callTool(alice, { name: "demo__echo" }, {})).rejects.toMatchObject({ code: "RATE_LIMITED", data: { retryAfterSec: expect.any(Number) } });
    // Another tool, another principal: their own buckets.
    await g.callTool(alice, { name: "demo__add" }, {});
    await g.callTool(as("bob", "operator"), { name: "demo__echo" }, {});
    expect(calls).toHaveLength(4);
    expect(audits.filter((a) => a.outcome !== "ok").map((a) => [a.principal, a.error?.code])).toEqual([["alice", "RATE_LIMITED"]]);
  });

  it("runs CORE's tools through their actions with the caller's principal, checking their permission", async () => {
    const { gateway: g, actions } = gateway();
    const experts = await g.callTool(as("v", "viewer"), { name: "core__experts" }, {});
    expect(experts.structuredContent).toEqual({ experts: [{ id: "one" }] });
    await expect(g.callTool(as("v", "viewer"), { name: "core__consult" }, { question: "why?" })).rejects.toBeInstanceOf(ForbiddenError);
    const consult = await g.callTool(as("op", "operator"), { server: "core", tool: "consult" }, { question: "Why is the sky blue?", experts: ["one"] });
    expect(consult.structuredContent).toMatchObject({ id: "c1" });
    expect(actions.map((a) => [a.action, a.params, a.call.principal?.id])).toEqual([
      ["circle.experts", {}, "v"],
      ["circle.consult", { question: "Why is the sky blue?", experts: ["one"] }, "op"],
    ]);
    const health = await g.callTool(as("v", "viewer"), { name: "core__health" }, {});
    expect(health.structuredContent).toEqual({ readiness: { status: "ready" }, actors: [{ name: "mcp.demo" }], unreachable: [] });
  });

  it("refuses invalid arguments to CORE's tools with the fields that are wrong", async () => {
    const { gateway: g, actions } = gateway();
    await expect(g.callTool(as("op", "operator"), { name: "core__consult" }, { question: "  ", extra: 1 })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      data: { issues: expect.arrayContaining([expect.objectContaining({ field: "question" })]) },
    });
    expect(actions).toHaveLength(0);
  });
});

describe("McpGateway: an actor that just started", () => {
  it("is looked for in the registry before a call of one of its tools is refused as unknown", async () => {
    const b = backend();
    let servers = ["demo"];
    const g = new McpGateway({ backend: { ...b.backend, servers: () => servers }, policy: new AccessPolicy(roles), logger: silentLogger });
    expect((await g.listTools(as("root", "admin"))).map((t) => t.name)).not.toContain("files__read");
    // files registered, but no $services.changed has reached the gateway yet.
    servers = ["demo", "files"];
    await expect(g.callTool(as("root", "admin"), { name: "files__read" }, {})).resolves.toMatchObject({ content: [{ text: "read: {}" }] });
  });
});
