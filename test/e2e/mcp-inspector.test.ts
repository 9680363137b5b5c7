import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CoreProcess, NODE_BIN, runCore } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { MCP_REFERENCE_SERVERS } from "../helpers/mcp-reference-servers";

/**
 * The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`), a client
 * CORE's code has no part in, against `/mcp` of a `core start` node over
 * Streamable HTTP, authenticated by an API key made through the running
 * node. The node runs the three reference servers: server-everything,
 * server-filesystem on a temporary directory and server-memory with its file
 * in one.
 */

const ROOT = resolve(__dirname, "../..");
const INSPECTOR_DIR = join(ROOT, "node_modules/@modelcontextprotocol/inspector");
/** The launcher script, run with Node 24 (the package needs Node ≥ 22.19; `npm` may run on an older one). */
const INSPECTOR_BIN = join(INSPECTOR_DIR, (JSON.parse(readFileSync(join(INSPECTOR_DIR, "package.json"), "utf8")) as { bin: Record<string, string> }).bin["mcp-inspector"]!);

const work = mkdtempSync(join(tmpdir(), "core-mcp-inspector-"));
const share = join(work, "share");
let api: string;
let adminKey: string;
let viewerKey: string;

interface InspectorRun {
  code: number | null;
  /** stdout, parsed (`--format json`: `{ result }` or `{ error }`), when it is JSON. */
  json: { result?: Record<string, unknown>; error?: { code: string; message: string } } | undefined;
  output: string;
}

/** One Inspector CLI run against the node's /mcp: `--header "Authorization: Bearer <key>"`, then `args`. */
function inspector(key: string, args: string[]): Promise<InspectorRun> {
  const argv = [INSPECTOR_BIN, "--cli", `${api}/mcp`, "--transport", "http", "--header", `Authorization: Bearer ${key}`, "--format", "json", ...args];
  // HOME of its own: the Inspector keeps a catalogue and OAuth state under ~/.mcp-inspector.
  const child = spawn(NODE_BIN, argv, { env: { PATH: process.env.PATH ?? "", HOME: join(work, "home") }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the Inspector did not finish within 60 s: ${argv.slice(1).join(" ")}\n${output}`));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      let json: InspectorRun["json"];
      try {
        json = JSON.parse(stdout) as InspectorRun["json"];
      } catch {
        json = undefined;
      }
      resolvePromise({ code, json, output });
    });
  });
}

/** The result of a successful run (else fails with what the Inspector said). */
function resultOf(run: InspectorRun): Record<string, unknown> {
  if (run.code !== 0 || !run.json?.result) throw new Error(`the Inspector failed (exit ${run.code}):\n${run.output}`);
  return run.json.result;
}

const textOf = (result: Record<string, unknown>) => (result.content as Array<{ type: string; text: string }>).map((c) => c.text).join("\n");

async function createKey(name: string, role: string): Promise<string> {
  const created = await runCore(["keys", "create", "--name", name, "--role", role, "--json"], { cwd: work, env: { CORE_CONFIG: join(work, "core.json") } });
  if (created.code !== 0) throw new Error(`core keys create failed:\n${created.output}`);
  return (JSON.parse(created.stdout) as { key: string }).key;
}

beforeAll(async () => {
  mkdirSync(share);
  writeFileSync(join(share, "hello.txt"), "hello from the share\n");
  const config = {
    mcpServers: [
      { name: "everything", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] },
      { name: "files", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.filesystem, share] },
      { name: "memory", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.memory], env: { MEMORY_FILE_PATH: join(work, "memory.jsonl") } },
    ],
  };
  writeFileSync(join(work, "core.json"), JSON.stringify(config));
  const node = new CoreProcess(["start"], {
    cwd: work,
    env: { CORE_CONFIG: join(work, "core.json"), CORE_API_PORT: String(await freePort()), CORE_METRICS: "false", CORE_NODE_ID: "inspector-node" },
  });
  // The node reports itself started once every actor, the MCP ones connected to their servers, is up.
  api = (await node.waitForOutput(/listening: api (http:\/\/\S+)/, 90_000))[1]!;
  // Through the running node's control socket (PGlite is opened once).
  adminKey = await createKey("inspector", "admin");
  viewerKey = await createKey("inspector-viewer", "viewer");
}, 120_000);

afterAll(async () => {
  await CoreProcess.killAll();
  rmSync(work, { recursive: true, force: true });
});

describe("the MCP Inspector CLI against /mcp over Streamable HTTP", () => {
  it("tools/list: the namespaced tools of all three servers, plus CORE's own", async () => {
    const { tools } = resultOf(await inspector(adminKey, ["--method", "tools/list"])) as { tools: Array<{ name: string; inputSchema: { properties?: Record<string, unknown> } }> };
    const names = tools.map((t) => t.name);
    expect(names.slice(0, 3)).toEqual(["core__consult", "core__experts", "core__health"]);
    expect(names).toEqual(
      expect.arrayContaining([
        "everything__echo",
        "everything__get-sum",
        "everything__trigger-long-running-operation",
        "files__read_text_file",
        "files__list_directory",
        "files__write_file",
        "memory__create_entities",
        "memory__open_nodes",
        "memory__read_graph",
      ]),
    );
    // Every tool under <server>__<tool>, each server's whole list.
    const perServer = new Map<string, number>();
    for (const name of names) {
      const server = /^(core|everything|files|memory)__[\w-]+$/.exec(name)?.[1];
      expect(server).toBeDefined();
      perServer.set(server!, (perServer.get(server!) ?? 0) + 1);
    }
    expect(perServer.get("core")).toBe(3);
    expect(perServer.get("everything")).toBeGreaterThanOrEqual(10);
    expect(perServer.get("files")).toBeGreaterThanOrEqual(10);
    expect(perServer.get("memory")).toBeGreaterThanOrEqual(9);
    // Upstream schemas as the servers gave them.
    expect(tools.find((t) => t.name === "everything__echo")!.inputSchema.properties).toHaveProperty("message");
  });

  it("tools/call: server-everything's echo and get-sum answer correctly", async () => {
    const echo = resultOf(await inspector(adminKey, ["--method", "tools/call", "--tool-name", "everything__echo", "--tool-arg", "message=hi"]));
    expect(echo).toEqual({ content: [{ type: "text", text: "Echo: hi" }] });
    const sum = resultOf(await inspector(adminKey, ["--method", "tools/call", "--tool-name", "everything__get-sum", "--tool-arg", "a=2", "b=40"]));
    expect(textOf(sum)).toBe("The sum of 2 and 40 is 42.");
  });

  it("tools/call: server-filesystem reads a file of its directory", async () => {
    const read = resultOf(await inspector(adminKey, ["--method", "tools/call", "--tool-name", "files__read_text_file", "--tool-arg", `path=${join(share, "hello.txt")}`]));
    expect(textOf(read)).toBe("hello from the share\n");
  });

  it("a memory-server entity created through the gateway is read back through it", async () => {
    const entity = { name: "CORE", entityType: "runtime", observations: ["an MCP gateway"] };
    const created = resultOf(await inspector(adminKey, ["--method", "tools/call", "--tool-name", "memory__create_entities", "--tool-args-json", JSON.stringify({ entities: [entity] })]));
    expect(created.isError).toBeFalsy();
    const read = resultOf(await inspector(adminKey, ["--method", "tools/call", "--tool-name", "memory__open_nodes", "--tool-args-json", JSON.stringify({ names: ["CORE"] })]));
    expect(read.structuredContent).toEqual({ entities: [entity], relations: [] });
    // And it is in the server's file.
    expect(readFileSync(join(work, "memory.jsonl"), "utf8")).toContain('"name":"CORE"');
  });

  it("a viewer's key lists only what the role allows (no mcp:call, no consult:run)", async () => {
    const { tools } = resultOf(await inspector(viewerKey, ["--method", "tools/list"])) as { tools: Array<{ name: string }> };
    expect(tools.map((t) => t.name)).toEqual(["core__experts", "core__health"]);
  });

  it("a key that does not hold is refused (401), the Inspector says authentication is required", async () => {
    const run = await inspector("core_0000000000000000_not-a-real-key-at-all", ["--method", "tools/list", "--stored-auth-only"]);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/auth_required|401/);
  });
});
