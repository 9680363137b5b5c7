import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context, ServiceSchema } from "moleculer";
import type { ActorInfo } from "../../../actors/actor-tree";
import type { CoreError } from "../../../lib/errors";
import {
  MCP_CANCEL_EVENT,
  MCP_PROGRESS_EVENT,
  MCP_TOOLS_CHANGED_EVENT,
  type McpCallToolParams,
  type McpCallToolResult,
  type McpProgress,
  type McpServerStatus,
  type McpToolList,
  type McpToolsChanged,
} from "../../../lib/mcp/mcp-actor-contract";
import type { McpPromptList, McpResourceContents, McpResourceList } from "../../../lib/mcp/mcp-listings";
import { startNode, type CoreNode } from "../../../node";
import { writeCoreConfig } from "../../helpers/circle-node";
import { MCP_REFERENCE_SERVERS, startEverythingOverHttp, type HttpReferenceServer } from "../../helpers/mcp-reference-servers";
import { freePort } from "../../helpers/free-port";
import { startMcpTestServer, type McpTestServer } from "../../helpers/mcp-test-server";
import { testSchema } from "../../helpers/pg-schema";
import { NATS_URL } from "../../helpers/services";
import { uniqueName } from "../../helpers/unique";
import { waitFor } from "../../helpers/wait";

/**
 * The `mcp.<server>` actors on one node over real NATS and PostgreSQL, against
 * the real reference servers: server-everything (stdio, Streamable HTTP and
 * legacy SSE), server-memory and server-filesystem (stdio), and a small
 * SDK-built server for list_changed, forgotten sessions and cancellation.
 */

const namespace = uniqueName("mcp_actors");
const pg = testSchema("mcp_actors");
const work = mkdtempSync(join(tmpdir(), "core-mcp-"));
const files = join(work, "files");
let node: CoreNode;
let httpEverything: HttpReferenceServer;
let sseEverything: HttpReferenceServer;
let dynamic: McpTestServer;
let offlinePort: number;
let offline: McpTestServer | undefined;

const heard = { progress: [] as McpProgress[], changed: [] as McpToolsChanged[] };
const listener: ServiceSchema = {
  name: "mcp-test-listener",
  events: {
    [MCP_PROGRESS_EVENT]: {
      handler(ctx: Context<McpProgress>) {
        heard.progress.push(ctx.params);
      },
    },
    [MCP_TOOLS_CHANGED_EVENT]: {
      handler(ctx: Context<McpToolsChanged>) {
        heard.changed.push(ctx.params);
      },
    },
  },
};

const call = <T>(action: string, params: object = {}, timeout = 20_000) => node.broker.call<T, object>(action, params, { timeout });
const callTool = (server: string, params: McpCallToolParams, timeout?: number) => call<McpCallToolResult>(`mcp.${server}.callTool`, params, timeout);
const toolNames = async (server: string) => (await call<McpToolList>(`mcp.${server}.listTools`)).tools.map((t) => t.name);
const text = (result: McpCallToolResult) => result.content.map((c) => c.text).join("");

beforeAll(async () => {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(files);
  [httpEverything, sseEverything, dynamic, offlinePort] = await Promise.all([startEverythingOverHttp("streamableHttp"), startEverythingOverHttp("sse"), startMcpTestServer(), freePort()]);
  const configFile = writeCoreConfig({
    mcpServers: [
      { name: "everything", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] },
      { name: "memory", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.memory], env: { MEMORY_FILE_PATH: join(work, "memory.jsonl") } },
      { name: "files", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.filesystem, files] },
      { name: "remote", transport: "http", url: httpEverything.url },
      { name: "legacy", transport: "sse", url: sseEverything.url, allow: ["echo", "get-*", "!get-env"] },
      { name: "dynamic", transport: "http", url: dynamic.url, headers: { "x-core-test": "1" }, allow: ["*", "!fail", "!extra_*"] },
      // Nothing listens there until a test starts a server.
      { name: "offline", transport: "http", url: `http://127.0.0.1:${offlinePort}/mcp` },
    ],
  });
  node = await startNode({
    env: {
      NATS_URL,
      CORE_NAMESPACE: namespace,
      CORE_NODE_ID: "mcp-node",
      DATABASE_URL: pg.url,
      CORE_DB_SCHEMA: pg.schema,
      CORE_METRICS: "false",
      CORE_LOG_LEVEL: "error",
      CORE_CONFIG: configFile,
    },
    services: ["supervisor", "mcp"],
    schemas: [listener],
  });
});

afterAll(async () => {
  await node?.stop();
  await Promise.all([httpEverything?.close(), sseEverything?.close(), dynamic?.close(), offline?.close()]);
  await pg.drop();
  rmSync(work, { recursive: true, force: true });
});

describe("mcp.<server> actors", () => {
  it("list the tools of every configured server, all supervised under mcp", async () => {
    expect(await toolNames("everything")).toEqual(expect.arrayContaining(["echo", "get-sum", "trigger-long-running-operation"]));
    expect(await toolNames("memory")).toEqual(expect.arrayContaining(["create_entities", "read_graph", "open_nodes"]));
    expect(await toolNames("files")).toEqual(expect.arrayContaining(["write_file", "read_text_file", "list_directory"]));
    expect(await toolNames("remote")).toEqual(expect.arrayContaining(["echo", "get-sum"]));
    const echo = (await call<McpToolList>("mcp.everything.listTools")).tools.find((t) => t.name === "echo")!;
    expect(echo).toMatchObject({ title: "Echo Tool", inputSchema: { type: "object", properties: { message: { type: "string" } } }, annotations: { readOnlyHint: true } });
    const { actors } = await call<{ actors: ActorInfo[] }>("supervisor.actors");
    expect(actors.filter((a) => a.name.startsWith("mcp.")).map((a) => [a.name, a.path, a.state])).toEqual(
      ["dynamic", "everything", "files", "legacy", "memory", "offline", "remote"].map((s) => [`mcp.${s}`, `root/mcp/mcp.${s}`, "running"]),
    );
    const status = await call<McpServerStatus>("mcp.everything.status");
    expect(status).toMatchObject({ server: "everything", transport: "stdio", connected: true, circuit: "closed", serverInfo: { name: "mcp-servers/everything" } });
    expect(status.pid).toEqual(expect.any(Number));
    expect(status.tools).toBeGreaterThanOrEqual(10);
  });

  it("call server-everything's echo and get-sum over stdio with correct results", async () => {
    expect(text(await callTool("everything", { tool: "echo", arguments: { message: "hello CORE" } }))).toBe("Echo: hello CORE");
    expect(text(await callTool("everything", { tool: "get-sum", arguments: { a: 2, b: 40 } }))).toBe("The sum of 2 and 40 is 42.");
  });

  it("pass a server's answer to bad arguments on as a tool error (isError), not a thrown one", async () => {
    const result = await callTool("everything", { tool: "get-sum", arguments: { a: "two" } });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/number/i);
  });

  it("create an entity in the memory server and read it back", async () => {
    const created = await callTool("memory", {
      tool: "create_entities",
      arguments: { entities: [{ name: "CORE", entityType: "runtime", observations: ["actors over NATS"] }] },
    });
    expect(created.isError).toBeFalsy();
    const graph = await callTool("memory", { tool: "read_graph", arguments: {} });
    expect(graph.structuredContent).toMatchObject({ entities: [{ name: "CORE", entityType: "runtime", observations: ["actors over NATS"] }] });
    const opened = await callTool("memory", { tool: "open_nodes", arguments: { names: ["CORE"] } });
    expect(text(opened)).toContain("actors over NATS");
  });

  it("write a file in the filesystem server's directory and read it back", async () => {
    const path = join(files, "note.txt");
    const written = await callTool("files", { tool: "write_file", arguments: { path, content: "written through mcp.files" } });
    expect(written.isError).toBeFalsy();
    expect(readFileSync(path, "utf8")).toBe("written through mcp.files");
    expect(text(await callTool("files", { tool: "read_text_file", arguments: { path } }))).toBe("written through mcp.files");
    // Outside its directory the server refuses: a tool error.
    const outside = await callTool("files", { tool: "read_text_file", arguments: { path: "/etc/hostname" } });
    expect(outside.isError).toBe(true);
  });

  it("hide what allow does not admit; calling a hidden tool is MCP_TOOL_NOT_FOUND, like an unknown one", async () => {
    expect(await toolNames("legacy")).toEqual(expect.arrayContaining(["echo", "get-sum", "get-tiny-image"]));
    expect(await toolNames("legacy")).not.toContain("get-env");
    expect(await toolNames("legacy")).not.toContain("trigger-long-running-operation");
    expect((await toolNames("dynamic")).sort()).toEqual(["add", "broken", "echo", "sleep"]);
    for (const [server, tool] of [["legacy", "get-env"], ["dynamic", "fail"], ["dynamic", "no_such_tool"]]) {
      const err = (await callTool(server!, { tool: tool! }).catch((e: unknown) => e)) as CoreError;
      expect(err).toMatchObject({ code: "MCP_TOOL_NOT_FOUND", status: 404, message: `MCP server ${server} has no tool "${tool}"` });
    }
  });

  it("speak Streamable HTTP and legacy SSE to server-everything", async () => {
    expect(text(await callTool("remote", { tool: "echo", arguments: { message: "over HTTP" } }))).toBe("Echo: over HTTP");
    expect(text(await callTool("remote", { tool: "get-sum", arguments: { a: 1.5, b: 2 } }))).toBe("The sum of 1.5 and 2 is 3.5.");
    expect(text(await callTool("legacy", { tool: "echo", arguments: { message: "over SSE" } }))).toBe("Echo: over SSE");
    expect(await call<McpToolList>("mcp.remote.status")).toMatchObject({ transport: "http", connected: true, circuit: "closed" });
  });

  it("list resources and prompts (all pages) and read one of each", async () => {
    const resources = await call<McpResourceList>("mcp.everything.listResources");
    expect(resources.resources.length).toBeGreaterThan(0);
    const first = resources.resources[0]!;
    const contents = await call<McpResourceContents>("mcp.everything.readResource", { uri: first.uri });
    expect(contents.contents[0]).toMatchObject({ uri: first.uri });
    const prompts = await call<McpPromptList>("mcp.everything.listPrompts");
    expect(prompts.prompts.map((p) => p.name)).toContain("simple-prompt");
    const prompt = await call<{ messages: unknown[] }>("mcp.everything.getPrompt", { name: "simple-prompt" });
    expect(prompt.messages.length).toBeGreaterThan(0);
    // A server without prompts lists none rather than failing.
    expect(await call<McpPromptList>("mcp.files.listPrompts")).toEqual({ server: "files", prompts: [] });
  });

  it("broadcast a long-running tool's progress to listeners of mcp.progress", async () => {
    const progressToken = uniqueName("progress");
    const result = await callTool("everything", { tool: "trigger-long-running-operation", arguments: { duration: 1, steps: 4 }, progressToken });
    expect(text(result)).toContain("Long running operation completed");
    // Every step, the last one included (it reaches the actor with the result; see mcp-server-client's own progress handler).
    await waitFor(() => heard.progress.filter((p) => p.progressToken === progressToken).length >= 4, 5_000, "progress events");
    const mine = heard.progress.filter((p) => p.progressToken === progressToken);
    expect(mine[0]).toEqual({ progressToken, progress: 1, total: 4 });
    expect(mine.map((p) => p.progress)).toEqual([1, 2, 3, 4]);
  });

  it("cancel a call upstream on mcp.cancel: the call rejects at once and the server is told", async () => {
    const progressToken = uniqueName("cancel");
    const callId = uniqueName("call");
    const before = dynamic.cancelled;
    const running = callTool("dynamic", { tool: "sleep", arguments: { ms: 20_000 }, progressToken, callId }, 30_000).catch((e: unknown) => e);
    await waitFor(() => heard.progress.some((p) => p.progressToken === progressToken), 5_000, "the call to be running");
    const cancelledAt = Date.now();
    await node.broker.broadcast(MCP_CANCEL_EVENT, { callId, reason: "test" });
    const err = (await running) as CoreError;
    expect(err).toMatchObject({ code: "MCP_CALL_CANCELLED", retryable: false });
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    await waitFor(() => dynamic.cancelled > before, 5_000, "the server to see notifications/cancelled");

    // And server-everything's long-running operation, over stdio.
    const callId2 = uniqueName("call");
    const token2 = uniqueName("cancel");
    const long = callTool("everything", { tool: "trigger-long-running-operation", arguments: { duration: 20, steps: 40 }, progressToken: token2, callId: callId2 }, 30_000).catch(
      (e: unknown) => e,
    );
    await waitFor(() => heard.progress.some((p) => p.progressToken === token2), 5_000, "the operation to report progress");
    const t0 = Date.now();
    await node.broker.broadcast(MCP_CANCEL_EVENT, { callId: callId2 });
    expect(await long).toMatchObject({ code: "MCP_CALL_CANCELLED" });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it("a call past its deadline fails with DEADLINE_EXCEEDED", async () => {
    const started = Date.now();
    const err = (await callTool("dynamic", { tool: "sleep", arguments: { ms: 10_000 } }, 500).catch((e: unknown) => e)) as CoreError;
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reload the catalogue on list_changed and broadcast mcp.tools.changed", async () => {
    heard.changed.length = 0;
    await dynamic.addTool("late_tool");
    const event = await waitFor(() => heard.changed.find((e) => e.server === "dynamic" && e.tools.includes("late_tool")), 5_000, "mcp.tools.changed");
    expect(event.tools.sort()).toEqual(["add", "broken", "echo", "late_tool", "sleep"]);
    expect(await toolNames("dynamic")).toContain("late_tool");
    expect(text(await callTool("dynamic", { tool: "late_tool" }))).toBe("late_tool ran");
  });

  it("initialise a new session transparently when the HTTP server forgot it (404)", async () => {
    const sessions = dynamic.sessionsCreated;
    const expired = dynamic.expiredRequests;
    dynamic.forgetSessions();
    expect(text(await callTool("dynamic", { tool: "echo", arguments: { text: "after 404" } }))).toBe("after 404");
    expect(dynamic.expiredRequests).toBeGreaterThan(expired);
    expect(dynamic.sessionsCreated).toBe(sessions + 1);
  });

  it("a remote server down at the start: the actor runs, answers UNAVAILABLE, and connects once the server is up", async () => {
    expect(await call<McpServerStatus>("mcp.offline.status")).toMatchObject({ server: "offline", connected: false, tools: 0, lastError: expect.stringContaining("ECONNREFUSED") });
    for (const attempt of [call("mcp.offline.listTools", {}, 2_000), callTool("offline", { tool: "echo", arguments: { text: "x" } }, 2_000)]) {
      expect(await attempt.catch((e: unknown) => e)).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    }
    heard.changed.length = 0;
    offline = await startMcpTestServer({ port: offlinePort });
    // The next health check (every 5 s) connects and announces the catalogue.
    await waitFor(() => heard.changed.find((e) => e.server === "offline"), 12_000, "mcp.offline to connect");
    expect(await toolNames("offline")).toEqual(["echo", "add", "fail", "broken", "sleep"]);
    expect(text(await callTool("offline", { tool: "echo", arguments: { text: "now online" } }))).toBe("now online");
  });

  it("kill -9 of a stdio server: the actor is back within 2 s with its tools; a call made meanwhile succeeds or fails retryably within its deadline", async () => {
    const before = await call<McpServerStatus>("mcp.everything.status");
    heard.changed.length = 0;
    const killedAt = Date.now();
    process.kill(before.pid!, "SIGKILL");
    // A call made right after the kill, with a 5 s deadline.
    const meanwhile = callTool("everything", { tool: "echo", arguments: { message: "meanwhile" } }, 5_000).then(
      (result) => ({ ok: true as const, result, at: Date.now() }),
      (err: CoreError) => ({ ok: false as const, err, at: Date.now() }),
    );
    const after = await waitFor(
      async () => {
        const s = await call<McpServerStatus>("mcp.everything.status", {}, 500).catch(() => undefined);
        return s && s.connected && s.pid !== before.pid ? s : undefined;
      },
      10_000,
      "mcp.everything to be back",
    );
    const backIn = Date.now() - killedAt;
    expect(backIn).toBeLessThan(2_000);
    expect(after.tools).toBe(before.tools);
    expect(await toolNames("everything")).toContain("echo");
    expect(text(await callTool("everything", { tool: "echo", arguments: { message: "again" } }))).toBe("Echo: again");
    const outcome = await meanwhile;
    if (outcome.ok) expect(text(outcome.result)).toBe("Echo: meanwhile");
    else expect(outcome.err.retryable).toBe(true);
    expect(outcome.at - killedAt).toBeLessThan(5_500);
    const actor = (await call<{ actors: ActorInfo[] }>("supervisor.actors")).actors.find((a) => a.name === "mcp.everything")!;
    expect(actor).toMatchObject({ state: "running", restarts: 1, lastError: expect.stringMatching(/MCP server everything \(pid \d+\) exited/) });
    // The new incarnation announces its catalogue.
    await waitFor(() => heard.changed.some((e) => e.server === "everything"), 3_000, "mcp.tools.changed after the restart");
    console.log(`mcp.everything back ${backIn} ms after kill -9; the call made meanwhile ${outcome.ok ? "succeeded" : `failed with ${outcome.err.type ?? outcome.err.code} (retryable)`}`);
  });
});
