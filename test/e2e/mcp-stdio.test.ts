import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError, ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Client as PgClient } from "pg";
import { startNode, type CoreNode } from "../../node";
import { writeCoreConfig } from "../helpers/circle-node";
import { CORE_BIN, CoreProcess, NODE_BIN, runCore } from "../helpers/core-process";
import { fakeMcpActor } from "../helpers/mcp-gateway-fake-actor";
import { MCP_REFERENCE_SERVERS } from "../helpers/mcp-reference-servers";
import { testSchema } from "../helpers/pg-schema";
import { testRedisPrefix } from "../helpers/redis-prefix";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * `core mcp` as an MCP client (a desktop app, an agent) runs it: spawned,
 * speaking MCP on stdin/stdout, driven here by the SDK's StdioClientTransport.
 * As a client node of a running cluster (with an API key, and as the local
 * operator) and embedded (the whole system in its own process, with
 * server-everything as a real upstream).
 */

const namespace = uniqueName("mcp_stdio");
const pg = testSchema("mcp_stdio");
const redis = testRedisPrefix("mcp_stdio");
const work = mkdtempSync(join(tmpdir(), "core-mcp-stdio-"));
const fake = fakeMcpActor("demo");
let node: CoreNode;
let configFile: string;
let apiKey: string;
let keyId: string;
const clients: Client[] = [];

interface Spawned {
  client: Client;
  stderr: () => string;
  /** Anything the client could not read on stdout (a stray log line would land here). */
  errors: Error[];
}

async function spawnMcp(env: Record<string, string>): Promise<Spawned> {
  const transport = new StdioClientTransport({
    command: NODE_BIN,
    args: [CORE_BIN, "mcp"],
    // Not the parent's CORE_* or service URLs: each test says what it uses. Info logs, to prove they stay off stdout.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", CORE_LOG_FORMAT: "short", CORE_LOG_LEVEL: "info", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const errors: Error[] = [];
  const client = new Client({ name: "e2e", version: "1.0.0" });
  client.onerror = (err) => errors.push(err);
  clients.push(client);
  await client.connect(transport, { timeout: 90_000 });
  return { client, stderr: () => stderr, errors };
}

const clusterEnv = (extra: Record<string, string> = {}) => ({ NATS_URL, CORE_NAMESPACE: namespace, CORE_CONFIG: configFile, CORE_HEARTBEAT_INTERVAL: "1", CORE_HEARTBEAT_TIMEOUT: "4", ...extra });
const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

async function auditRows(): Promise<Array<{ principal: string; target: string; outcome: string; source: string | null }>> {
  const client = new PgClient({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT principal, target, outcome, source FROM "${pg.schema}".audit_log WHERE action = 'mcp.call' ORDER BY seq`);
    return rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  configFile = writeCoreConfig({
    roles: { "mcp-user": { permissions: ["mcp:list", "mcp:call:demo/echo", "mcp:call:demo/slow"] } },
  });
  // The cluster: one node running the gateway and the fake mcp.demo actor.
  node = await startNode({
    env: {
      NATS_URL,
      CORE_NAMESPACE: namespace,
      CORE_NODE_ID: "mcp-cluster",
      DATABASE_URL: pg.url,
      CORE_DB_SCHEMA: pg.schema,
      REDIS_URL: redis.url,
      CORE_REDIS_PREFIX: redis.prefix,
      CORE_CONFIG: configFile,
      CORE_METRICS: "false",
      CORE_LOG_LEVEL: "error",
      CORE_HEARTBEAT_INTERVAL: "1",
      CORE_HEARTBEAT_TIMEOUT: "4",
    },
    services: ["auth", "audit", "supervisor", "mcp-gateway"],
    schemas: [fake.schema],
  });
  const created = await node.broker.call<{ id: string; key: string }, { name: string; role: string }>("auth.createKey", { name: "mcp stdio", role: "mcp-user" });
  apiKey = created.key;
  keyId = created.id;
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await CoreProcess.killAll();
  await node?.stop();
  await redis.clean();
  await pg.drop();
  rmSync(work, { recursive: true, force: true });
});

describe("core mcp on a client node of the cluster", () => {
  it("acts as the API key's principal: its tools only, calls, progress, refusals audited, unknown tools as -32602, stdout clean", async () => {
    const { client, errors, stderr } = await spawnMcp(clusterEnv({ CORE_MCP_TOKEN: apiKey }));
    expect(client.getServerVersion()?.name).toBe("core");
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["demo__echo", "demo__slow"]);
    expect(await client.callTool({ name: "demo__echo", arguments: { message: "over stdio" } })).toMatchObject({ content: [{ type: "text", text: "over stdio" }] });
    expect(fake.record.calls.at(-1)!.principal).toMatchObject({ id: keyId, roles: ["mcp-user"] });

    const progress: unknown[] = [];
    const slow = await client.callTool({ name: "demo__slow", arguments: { steps: 2, stepMs: 30 } }, undefined, { onprogress: (p) => progress.push(p) });
    expect(text(slow)).toBe("done in 2 steps");
    expect(progress).toEqual([
      { progress: 1, total: 2, message: "step 1" },
      { progress: 2, total: 2, message: "step 2" },
    ]);

    const refused = await client.callTool({ name: "demo__secret", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/^Not allowed to call demo__secret: .*needs permission mcp:call:demo\/secret$/);
    const row = await waitFor(async () => (await auditRows()).find((r) => r.target === "demo/secret"), 5_000, "the refusal's audit row");
    expect(row).toMatchObject({ principal: keyId, outcome: "denied", source: "stdio" });

    const unknown = (await client.callTool({ name: "demo__nope", arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(unknown).toBeInstanceOf(McpError);
    expect(unknown.code).toBe(-32602);

    // Logs went to stderr (info level), and nothing but MCP reached stdout.
    expect(stderr()).toMatch(/MCP gateway on stdio as/);
    expect(errors).toEqual([]);
  });

  it("cancels upstream when the client cancels, and passes list_changed on", async () => {
    const { client } = await spawnMcp(clusterEnv({ CORE_MCP_TOKEN: apiKey }));
    const aborter = new AbortController();
    const pending = client.callTool({ name: "demo__slow", arguments: { steps: 1, stepMs: 10, untilCancelled: true } }, undefined, { signal: aborter.signal });
    const call = await waitFor(() => fake.record.calls.find((c) => c.params.tool === "slow" && (c.params.arguments as { untilCancelled?: boolean }).untilCancelled), 10_000, "the call to reach the actor");
    aborter.abort("stop");
    await expect(pending).rejects.toThrow();
    await waitFor(() => fake.record.cancels.some((c) => c.callId === call.params.callId), 5_000, "the cancel to reach the actor");

    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    fake.addTool((event, payload) => node.broker.broadcast(event, payload), { name: "late", inputSchema: { type: "object" } });
    await waitFor(() => changed > 0, 10_000, "notifications/tools/list_changed over stdio");
  });

  it("without CORE_MCP_TOKEN acts as the local operator, who may call everything", async () => {
    const { client } = await spawnMcp(clusterEnv());
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["core__consult", "core__experts", "core__health", "demo__echo", "demo__secret"]));
    expect(text(await client.callTool({ name: "demo__secret", arguments: {} }))).toBe("the secret");
    await waitFor(async () => (await auditRows()).find((r) => r.target === "demo/secret" && r.outcome === "ok"), 5_000, "the operator's audit row");
    expect((await auditRows()).find((r) => r.target === "demo/secret" && r.outcome === "ok")).toMatchObject({ principal: "system", source: "stdio" });
  });

  it("refuses to start with a credential that does not hold, saying why on stderr", async () => {
    const { code, output, stdout } = await runCore(["mcp"], { env: clusterEnv({ CORE_MCP_TOKEN: "core_0000000000000000_not-a-real-key-at-all" }) });
    expect(code).toBe(1);
    expect(output).toMatch(/core mcp: The API key is not valid/);
    expect(stdout).toBe("");
  });
});

describe("core mcp embedded", () => {
  it("runs the system in its own process and serves server-everything's tools and CORE's own", async () => {
    const embeddedConfig = writeCoreConfig({
      mcpServers: [{ name: "everything", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] }],
    });
    const { client, errors } = await spawnMcp({ CORE_CONFIG: embeddedConfig, CORE_DATA_DIR: join(work, "data") });
    // The actor connects to its child while the gateway starts: list until its tools are in.
    const names = await waitFor(
      async () => {
        const listed = (await client.listTools()).tools.map((t) => t.name);
        return listed.includes("everything__echo") ? listed : undefined;
      },
      30_000,
      "server-everything's tools",
    );
    expect(names).toEqual(expect.arrayContaining(["core__consult", "core__experts", "core__health", "everything__echo", "everything__get-sum"]));
    expect(text(await client.callTool({ name: "everything__echo", arguments: { message: "embedded" } }))).toBe("Echo: embedded");
    expect(text(await client.callTool({ name: "everything__get-sum", arguments: { a: 20, b: 22 } }))).toBe("The sum of 20 and 22 is 42.");
    expect(errors).toEqual([]);
    await client.close();
  });
});
