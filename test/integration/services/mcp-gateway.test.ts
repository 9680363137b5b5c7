import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ServiceBroker } from "moleculer";
import { Client as PgClient } from "pg";
import { startNode, type CoreNode } from "../../../node";
import { startTestBroker } from "../../helpers/broker";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { freePort } from "../../helpers/free-port";
import { fakeMcpActor } from "../../helpers/mcp-gateway-fake-actor";
import { MCP_REFERENCE_SERVERS } from "../../helpers/mcp-reference-servers";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { testRedisPrefix } from "../../helpers/redis-prefix";
import { uniqueName } from "../../helpers/unique";
import { waitFor } from "../../helpers/wait";

/**
 * CORE as an MCP server over Streamable HTTP at /mcp, with the SDK's own
 * client: a gateway node (api, auth, audit, the circle, mcp-gateway, and the
 * real `mcp` actors of server-everything and server-memory over stdio) and a
 * fake `mcp.demo` actor on another broker, over real NATS, PostgreSQL and
 * Redis. Namespaced tools and CORE's own, RBAC per caller (a role from
 * CORE_CONFIG), refusals audited in PostgreSQL, progress, cancellation,
 * list_changed, upstream failures as tool errors, per-tool rate limits.
 */

const namespace = uniqueName("mcpgw");
const work = mkdtempSync(join(tmpdir(), "core-mcp-gateway-"));
const pg = testSchema("mcpgw");
const redis = testRedisPrefix("mcpgw");
const SECRET = "mcp-gateway-test-secret-0123456789-abcdefghij";
const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" };
const DEMO = { email: "demo@example.com", password: "demo user password 123" };
const VIEWER = { email: "viewer@example.com", password: "viewer password 123" };

let stub: ProviderStub;
let node: CoreNode;
let fakeBroker: ServiceBroker;
const fake = fakeMcpActor("demo");
let api: string;
const open: Array<{ close(): Promise<void> }> = [];

async function login(who: { email: string; password: string }): Promise<{ token: string; id: string }> {
  const res = await fetch(`${api}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(who) });
  const { accessToken } = (await res.json()) as { accessToken: string };
  // The user's id is the token's subject.
  const { sub } = JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()) as { sub: string };
  return { token: accessToken, id: sub };
}

async function mcp(token: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${api}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: "integration-test", version: "1.0.0" });
  await client.connect(transport);
  const handle = {
    client,
    transport,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
  open.push(handle);
  return handle;
}

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

async function auditRows(): Promise<Array<{ principal: string; target: string; outcome: string; source: string | null; details: Record<string, unknown> }>> {
  const client = new PgClient({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT principal, target, outcome, source, details FROM "${pg.schema}".audit_log WHERE action = 'mcp.call' ORDER BY seq`);
    return rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "test-key" });
  stub.always({ text: "Blue light scatters more. Final answer: Rayleigh scattering" });
  const configFile = writeCoreConfig({
    experts: [{ id: "one", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") }],
    mcpServers: [
      { name: "everything", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] },
      { name: "memory", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.memory], env: { MEMORY_FILE_PATH: join(work, "memory.jsonl") } },
    ],
    roles: { "demo-user": { permissions: ["mcp:list", "mcp:call:demo/echo", "mcp:call:demo/slow", "experts:read"] } },
    rateLimits: { routes: { "MCP /demo/add": { capacity: 2, refillPerSecond: 0.01 } } },
  });
  const port = await freePort();
  node = await startNode({
    env: circleNodeEnv({ namespace, pg, nodeId: "mcp-gw", configFile, apiKey: "test-key", redis, extra: { CORE_API_PORT: String(port), CORE_JWT_SECRET: SECRET } }),
    services: ["api", "auth", "audit", "supervisor", "mcp-gateway", "mcp", "aggregator", "experts", "circle", "costs", "budgets"],
  });
  api = `http://127.0.0.1:${port}`;
  // The fake actor on a node of its own: its events and the gateway's cross NATS. Same roles, so RBAC agrees on both nodes.
  fakeBroker = await startTestBroker({ namespace, nodeId: "fake-mcp", services: [fake.schema], env: { CORE_CONFIG: configFile } });
  await node.broker.waitForServices(["mcp.demo", "mcp.everything", "mcp.memory"], 20_000);
  await node.broker.call("auth.createUser", { ...ADMIN, role: "admin" });
  await node.broker.call("auth.createUser", { ...DEMO, role: "demo-user" });
  await node.broker.call("auth.createUser", { ...VIEWER, role: "viewer" });
}, 60_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close().catch(() => undefined)));
});

afterAll(async () => {
  await fakeBroker?.stop();
  await node?.stop();
  await stub?.close();
  await redis.clean();
  await pg.drop();
  rmSync(work, { recursive: true, force: true });
});

describe("the MCP gateway over Streamable HTTP", () => {
  it("refuses a client without credentials (401) and opens a session with a bearer token", async () => {
    const res = await fetch(`${api}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="core"');
    const { client, transport } = await mcp((await login(ADMIN)).token);
    expect(transport.sessionId).toBeDefined();
    expect(client.getServerVersion()?.name).toBe("core");
  });

  it("lists every upstream tool as <server>__<tool> with its schemas and annotations, plus CORE's own", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names.filter((n) => /^(core|demo)__/.test(n))).toEqual(["core__consult", "core__experts", "core__health", "demo__echo", "demo__add", "demo__secret", "demo__slow", "demo__down", "demo__broken"]);
    expect(names).toEqual(expect.arrayContaining(["everything__echo", "everything__get-sum", "memory__create_entities", "memory__read_graph"]));
    expect(tools.find((t) => t.name === "demo__echo")).toEqual({
      name: "demo__echo",
      title: "Echo",
      description: "Echoes the message",
      inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
      outputSchema: { type: "object", properties: { echoed: { type: "string" } }, required: ["echoed"] },
      annotations: { readOnlyHint: true, idempotentHint: true },
    });
  });

  it("calls echo through the actor with the caller's principal, and audits the call", async () => {
    const admin = await login(ADMIN);
    const { client } = await mcp(admin.token);
    const result = await client.callTool({ name: "demo__echo", arguments: { message: "hello through CORE" } });
    expect(result).toMatchObject({ content: [{ type: "text", text: "hello through CORE" }], structuredContent: { echoed: "hello through CORE" } });
    const call = fake.record.calls.at(-1)!;
    expect(call.params).toEqual({ tool: "echo", arguments: { message: "hello through CORE" }, callId: expect.any(String) });
    expect(call.principal).toMatchObject({ id: admin.id, roles: ["admin"] });
    await waitFor(async () => (await auditRows()).find((r) => r.principal === admin.id && r.target === "demo/echo" && r.outcome === "ok"), 5_000, "the audit row of the call");
  });

  it("shows a restricted role only what it may; a hidden tool's call is refused as a tool error and audited as denied", async () => {
    const demo = await login(DEMO);
    const { client } = await mcp(demo.token);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["core__experts", "demo__echo", "demo__slow"]);
    const viewer = await mcp((await login(VIEWER)).token);
    expect((await viewer.client.listTools()).tools.map((t) => t.name)).toEqual(["core__experts", "core__health"]);
    const before = fake.record.calls.length;
    const refused = await client.callTool({ name: "demo__secret", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toBe(`Not allowed to call demo__secret: ${demo.id} (role demo-user) may not call demo/secret: it needs permission mcp:call:demo/secret`);
    expect(fake.record.calls.length).toBe(before);
    const row = await waitFor(async () => (await auditRows()).find((r) => r.principal === demo.id && r.target === "demo/secret"), 5_000, "the audit row of the refusal");
    expect(row).toMatchObject({ outcome: "denied", source: "127.0.0.1", details: { error: "FORBIDDEN" } });
    // The session goes on.
    expect(text(await client.callTool({ name: "demo__echo", arguments: { message: "still here" } }))).toBe("still here");
  });

  it("answers an unknown tool with JSON-RPC error -32602", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const err = (await client.callTool({ name: "demo__nope", arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(err).toBeInstanceOf(McpError);
    expect(err.code).toBe(-32602);
    expect(err.message).toMatch(/Unknown tool: demo__nope/);
  });

  it("returns upstream failures as tool errors naming the tool and the reason, never dropping the session", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const down = await client.callTool({ name: "demo__down", arguments: {} });
    expect(down.isError).toBe(true);
    expect(text(down)).toBe("demo__down failed: MCP server demo is not connected [UNAVAILABLE]; this is temporary, trying again later may succeed");
    expect(down._meta).toEqual({ "core/error": { code: "UNAVAILABLE", status: 503, retryable: true } });
    expect(await client.callTool({ name: "demo__broken", arguments: {} })).toMatchObject({ isError: true, content: [{ text: "the tool failed" }] });
    expect(text(await client.callTool({ name: "demo__add", arguments: { a: 2, b: 3 } }))).toBe("5");
  });

  it("forwards the actor's progress to the client that asked for it", async () => {
    const { client } = await mcp((await login(DEMO)).token);
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await client.callTool({ name: "demo__slow", arguments: { steps: 3, stepMs: 40 } }, undefined, { onprogress: (p) => progress.push(p) });
    expect(text(result)).toBe("done in 3 steps");
    expect(progress).toEqual([
      { progress: 1, total: 3, message: "step 1" },
      { progress: 2, total: 3, message: "step 2" },
      { progress: 3, total: 3, message: "step 3" },
    ]);
    // The actor got the gateway's own token, not the client's.
    expect(fake.record.calls.at(-1)!.params.progressToken).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("passes a client's cancellation on to the actor holding the call", async () => {
    const { client } = await mcp((await login(DEMO)).token);
    const aborter = new AbortController();
    const pending = client.callTool({ name: "demo__slow", arguments: { steps: 1, stepMs: 10, untilCancelled: true } }, undefined, { signal: aborter.signal });
    const call = await waitFor(() => fake.record.calls.find((c) => c.params.tool === "slow" && (c.params.arguments as { untilCancelled?: boolean }).untilCancelled), 5_000, "the call to reach the actor");
    aborter.abort("the user pressed stop");
    await expect(pending).rejects.toThrow();
    const cancel = await waitFor(() => fake.record.cancels.find((c) => c.callId === call.params.callId), 5_000, "the cancel to reach the actor");
    expect(cancel.callId).toBe(call.params.callId);
  });

  it("tells a connected client that the tools changed when an actor announces it, and lists the new tool", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    // The client listens on its GET stream once initialised.
    await new Promise((r) => setTimeout(r, 200));
    fake.addTool((event, payload) => fakeBroker.broadcast(event, payload), { name: "fresh", description: "Added at runtime", inputSchema: { type: "object" } });
    await waitFor(() => changed > 0, 5_000, "notifications/tools/list_changed");
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("demo__fresh");
    expect(text(await client.callTool({ name: "demo__fresh", arguments: {} }))).toBe("fresh ran");
  });

  it("rate limits per principal and tool with an `MCP /demo/add` key", async () => {
    const admin = await login(ADMIN);
    const { client } = await mcp(admin.token);
    // The bucket holds 2 (an earlier test may have taken one): the third call at the latest is refused.
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await client.callTool({ name: "demo__add", arguments: { a: 1, b: i } }));
    const refused = results.find((r) => r.isError)!;
    expect(text(refused)).toMatch(/^Rate limit for demo__add reached: Too many requests: retry in \d+ s/);
    expect(refused._meta).toMatchObject({ "core/error": { code: "RATE_LIMITED", retryable: true, retryAfterSec: expect.any(Number) } });
    // Other tools keep their own buckets.
    expect(text(await client.callTool({ name: "demo__echo", arguments: { message: "ok" } }))).toBe("ok");
  });

  it("offers CORE's own tools: experts, health and a consult of the circle", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const experts = await client.callTool({ name: "core__experts", arguments: {} });
    expect(experts.structuredContent).toMatchObject({ experts: [{ id: "one", provider: "openai", available: true }] });
    const health = await client.callTool({ name: "core__health", arguments: {} });
    expect(health.structuredContent).toMatchObject({ readiness: { status: expect.stringMatching(/ready|degraded/), nodeID: "mcp-gw" }, actors: expect.any(Array) });
    const consult = await client.callTool({ name: "core__consult", arguments: { question: "Why is the sky blue?" } });
    expect(consult.isError).toBeUndefined();
    expect(text(consult)).toMatch(/Consensus of 1 of 1 experts/);
    expect(consult.structuredContent).toMatchObject({ status: "completed", question: "Why is the sky blue?" });
    const invalid = await client.callTool({ name: "core__consult", arguments: { question: "" } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/^Invalid arguments for core__consult: .*question/);
  });
});

describe("the MCP gateway in front of the real reference servers", () => {
  it("calls server-everything's echo and get-sum with correct results, keeping their schemas and annotations", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const echo = (await client.listTools()).tools.find((t) => t.name === "everything__echo");
    expect(echo).toMatchObject({ title: "Echo Tool", inputSchema: { type: "object", properties: { message: { type: "string" } } }, annotations: { readOnlyHint: true } });
    expect(text(await client.callTool({ name: "everything__echo", arguments: { message: "hello CORE" } }))).toBe("Echo: hello CORE");
    expect(text(await client.callTool({ name: "everything__get-sum", arguments: { a: 2, b: 40 } }))).toBe("The sum of 2 and 40 is 42.");
  });

  it("creates a memory-server entity through the gateway and reads it back through it", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const created = await client.callTool({ name: "memory__create_entities", arguments: { entities: [{ name: "CORE", entityType: "runtime", observations: ["an MCP gateway"] }] } });
    expect(created.isError).toBeFalsy();
    const graph = await client.callTool({ name: "memory__read_graph", arguments: {} });
    expect(graph.structuredContent).toMatchObject({ entities: [{ name: "CORE", entityType: "runtime", observations: ["an MCP gateway"] }] });
  });

  it("forwards the progress of server-everything's long-running operation to the client", async () => {
    const { client } = await mcp((await login(ADMIN)).token);
    const progress: Array<{ progress: number; total?: number }> = [];
    const result = await client.callTool({ name: "everything__trigger-long-running-operation", arguments: { duration: 1, steps: 4 } }, undefined, { onprogress: (p) => progress.push(p) });
    expect(text(result)).toContain("Long running operation completed");
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress[0]).toMatchObject({ progress: 1, total: 4 });
  });
});

describe("the mcp-gateway actions (REST and core mcp use them)", () => {
  it("`tools` lists the caller's share; `call` by server and tool checks mcp:call:<server>/<tool> where it runs", async () => {
    const demo = await login(DEMO);
    const principal = { id: demo.id, kind: "user", roles: ["demo-user"] };
    const { tools } = await node.broker.call<{ tools: Array<{ name: string; server: string; tool: string }> }, Record<string, never>>("mcp-gateway.tools", {}, { meta: { principal } });
    expect(tools.map((t) => [t.name, t.server, t.tool])).toEqual([
      ["core__experts", "core", "experts"],
      ["demo__echo", "demo", "echo"],
      ["demo__slow", "demo", "slow"],
    ]);
    const echoed = await node.broker.call("mcp-gateway.call", { server: "demo", tool: "echo", arguments: { message: "via REST" } }, { meta: { principal } });
    expect(echoed).toMatchObject({ content: [{ text: "via REST" }] });
    await expect(node.broker.call("mcp-gateway.call", { server: "demo", tool: "secret", arguments: {} }, { meta: { principal } })).rejects.toMatchObject({
      code: "FORBIDDEN",
      data: { permission: "mcp:call:demo/secret" },
    });
    // CORE's tools need their own permission: core/consult is consult:run.
    await expect(node.broker.call("mcp-gateway.call", { server: "core", tool: "consult", arguments: { question: "?" } }, { meta: { principal } })).rejects.toMatchObject({
      code: "FORBIDDEN",
      data: { permission: "consult:run" },
    });
    await expect(node.broker.call("mcp-gateway.call", { server: "demo", tool: "nope" }, { meta: { principal: { ...principal, roles: ["admin"] } } })).rejects.toMatchObject({
      code: "MCP_TOOL_NOT_FOUND",
      status: 404,
    });
  });

  it("`authenticate` turns a credential into its principal, for core mcp on a client node", async () => {
    const demo = await login(DEMO);
    await expect(node.broker.call("mcp-gateway.authenticate", { credential: `Bearer ${demo.token}` })).resolves.toMatchObject({ id: demo.id, roles: ["demo-user"] });
    await expect(node.broker.call("mcp-gateway.authenticate", { credential: "Bearer nope" })).rejects.toMatchObject({ status: 401 });
  });
});
