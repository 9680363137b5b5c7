import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreProcess, NODE_BIN } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { MCP_REFERENCE_SERVERS } from "../helpers/mcp-reference-servers";

const cwd = mkdtempSync(join(tmpdir(), "core-repl-"));

afterAll(async () => {
  await CoreProcess.killAll();
  rmSync(cwd, { recursive: true, force: true });
});

describe("core repl", () => {
  let repl: CoreProcess;

  /** Types a line and waits for what it prints. */
  const type = (line: string, expected: RegExp) => {
    repl.proc.stdin!.write(`${line}\n`);
    return repl.waitForOutput(expected);
  };

  beforeAll(async () => {
    writeFileSync(join(cwd, "core.json"), JSON.stringify({ mcpServers: [{ name: "everything", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] }] }));
    repl = new CoreProcess(["repl"], {
      cwd,
      stdin: "pipe",
      env: { CORE_NODE_ID: "repl-node", CORE_API_PORT: String(await freePort()), CORE_METRICS: "false", CORE_CONFIG: join(cwd, "core.json") },
    });
    await repl.waitForOutput(/CORE node repl-node started/, 60_000);
    await repl.waitForOutput(/mol \$ /);
  }, 90_000);

  it("embedded: runs the node with a Moleculer REPL and answers commands", async () => {
    const table = await type("services", /║ api\s+│[^\n]*\n/);
    expect(table[0]).toMatch(/OK/);
    await type("tree", /repl-node\n└─ root \(one_for_one, at most 5 restarts in 30 s\)/);
    await type("restart nobody", /No live node runs an actor named nobody \[ACTOR_NOT_FOUND\]/);
  });

  it("mcp tools [server] and mcp call SERVER TOOL JSON go through the gateway", async () => {
    await type("mcp tools everything", /║ get-sum\s+│ everything\s+│ Returns the sum of two numbers\s+║/);
    await type("mcp tools", /║ health\s+│ core\s+│ Every actor of the cluster/);
    // Quoted, the JSON may hold spaces.
    await type(`mcp call everything echo '{"message": "hi there"}'`, /\nmol \$ Echo: hi there\n/);
    await type('mcp call everything get-sum {"a":2,"b":40}', /\nmol \$ The sum of 2 and 40 is 42\.\n/);
    // The tool's own failure is a result, shown as an error.
    await type('mcp call everything get-sum {"a":"x","b":1}', /Tool error from everything\/get-sum:\n.*expected number, received string/);
    await type("mcp call everything echo {message:hi}", /The arguments of everything\/echo are not valid JSON: \{message:hi\} \[VALIDATION_FAILED\]\n {2}- JSON: .*in single quotes if it holds spaces/);
    await type("mcp call everything nope", /Unknown tool everything__nope \[MCP_TOOL_NOT_FOUND\]/);
  });

  it("quits cleanly, releasing the data directory", async () => {
    repl.proc.stdin!.write("quit\n");
    expect(await repl.wait()).toBe(0);

    // The store was closed on quit: a new process can open the directory at once.
    const again = new CoreProcess(["migrate"], { cwd });
    expect(await again.wait()).toBe(0);
    expect(again.output).toMatch(/nothing to apply/);
  });
});
