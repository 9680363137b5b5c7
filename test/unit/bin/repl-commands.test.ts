import type { ServiceBroker } from "moleculer";
import { actorRows, budgetRows, costRows, expertRows, formatToolResult, formatTrees, mcpToolRows, parseMcpLine, questionOf, REPL_COMMANDS } from "../../../bin/repl-commands";
import { ValidationError } from "../../../lib/errors";
import type { GatewayTool } from "../../../lib/mcp-gateway";

describe("REPL command output", () => {
  it("actors: one row per actor, mailbox as waiting / running / limits", () => {
    expect(
      actorRows({
        actors: [
          { name: "expert.a", nodeID: "n1", path: "root/experts/expert.a", state: "running", restarts: 2, restart: "permanent", lastError: "boom", mailbox: { depth: 3, running: 1, concurrency: 8, capacity: 64 } },
          { name: "test.s", nodeID: "n2", path: "root/actors/test.s", state: "standby", restarts: 0, restart: "permanent" },
        ],
        unreachable: [],
      }),
    ).toEqual([
      ["Actor", "Node", "State", "Restarts", "Mailbox (waiting / running / limits)", "Last error"],
      ["expert.a", "n1", "running", "2", "3 / 1 / 8+64", "boom"],
      ["test.s", "n2", "standby", "0", "-", ""],
    ]);
  });

  it("tree: every node's tree, and nodes that did not answer", () => {
    const text = formatTrees([
      {
        nodeID: "n1",
        tree: {
          id: "root",
          strategy: "one_for_one",
          intensity: { maxRestarts: 5, periodMs: 30_000 },
          children: [
            {
              id: "experts",
              kind: "supervisor",
              restart: "permanent",
              state: "running",
              restarts: 0,
              strategy: "one_for_one",
              children: [
                { id: "expert.a", kind: "worker", restart: "permanent", state: "running", restarts: 1 },
                { id: "expert.b", kind: "worker", restart: "transient", state: "restarting", restarts: 3 },
              ],
            },
            { id: "actors", kind: "supervisor", restart: "permanent", state: "running", restarts: 0, strategy: "one_for_one", children: [{ id: "test.x", kind: "worker", restart: "permanent", state: "running", restarts: 0 }] },
          ],
        },
      },
      { nodeID: "n2", error: "Request timed out" },
    ]);
    expect(text).toBe(
      [
        "n1",
        "└─ root (one_for_one, at most 5 restarts in 30 s)",
        "   ├─ experts (one_for_one)",
        "   │  ├─ expert.a running, permanent, 1 restart",
        "   │  └─ expert.b restarting, transient, 3 restarts",
        "   └─ actors (one_for_one)",
        "      └─ test.x running, permanent",
        "n2",
        "└─ unreachable: Request timed out",
      ].join("\n"),
    );
  });

  it("costs: one row per group, then the total", () => {
    const rows = costRows(
      {
        rows: [
          { provider: "anthropic", model: "claude-sonnet-4-5", calls: 3, inputTokens: 300, outputTokens: 90, costUsd: 0.00225, unpricedCalls: 0 },
          { provider: "ollama", model: "llama3.2", calls: 2, inputTokens: 200, outputTokens: 40, costUsd: 0, unpricedCalls: 2 },
        ],
        total: { calls: 5, inputTokens: 500, outputTokens: 130, costUsd: 0.00225, unpricedCalls: 2 },
      },
      ["provider", "model"],
    );
    expect(rows).toEqual([
      ["provider", "model", "calls", "input tokens", "output tokens", "cost", "unpriced calls"],
      ["anthropic", "claude-sonnet-4-5", "3", "300", "90", "$0.002250", "0"],
      ["ollama", "llama3.2", "2", "200", "40", "$0.000000", "2"],
      ["total", "", "5", "500", "130", "$0.002250", "2"],
    ]);
  });

  it("budgets: limit, used, remaining and when each resets", () => {
    expect(budgetRows([{ rule: "*", period: "day", limitUsd: 5, usedUsd: 1.25, remainingUsd: 3.75, periodStart: "2026-11-30T00:00:00.000Z", periodEnd: "2026-12-01T00:00:00.000Z" }])).toEqual([
      ["Budget", "Period", "Limit", "Used (spent + reserved)", "Remaining", "Resets"],
      ["*", "day", "$5.000000", "$1.250000", "$3.750000", "2026-12-01T00:00:00.000Z"],
    ]);
  });

  it("consult: the whole question from the raw line, with or without quotes, without the options", () => {
    expect(questionOf("consult What is the highest mountain on Earth?")).toBe("What is the highest mountain on Earth?");
    expect(questionOf('consult "Is 7 prime?" --experts a,b')).toBe("Is 7 prime?");
    expect(questionOf("consult --experts=a Why?")).toBe("Why?");
  });

  it("experts: provider, model, price, where it runs and its breaker, or why it is unavailable", () => {
    expect(
      expertRows([
        { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", weight: 2, fallback: ["local"], price: { inputPerMTok: 3, outputPerMTok: 15 }, available: true, status: { nodeID: "n1", endpoint: "anthropic https://api.anthropic.com", breaker: "open" } },
        { id: "local", provider: "ollama", model: "llama3.2", weight: 1, fallback: [], price: null, available: false, error: { code: "ACTION_NOT_FOUND", message: "x", status: 404, retryable: false } },
      ]),
    ).toEqual([
      ["Expert", "Provider", "Model", "Weight", "Price in/out per MTok", "Node", "Breaker", "Fallback"],
      ["claude", "anthropic", "claude-sonnet-4-5", "2", "$3 / $15", "n1", "open", "local"],
      ["local", "ollama", "llama3.2", "1", "unpriced", "unavailable: ACTION_NOT_FOUND", "", ""],
    ]);
  });

  it("mcp tools: one row per tool, named as mcp call takes it, with the first line of its description", () => {
    const tools: GatewayTool[] = [
      { name: "core__experts", server: "core", tool: "experts", description: "The configured experts.", inputSchema: { type: "object" } },
      { name: "everything__echo", server: "everything", tool: "echo", description: "Echoes back the input string\nsecond line", inputSchema: { type: "object" } },
      { name: "files__read", server: "files", tool: "read", title: "Read a file", inputSchema: { type: "object" } },
      { name: "files__long", server: "files", tool: "long", description: "x".repeat(200), inputSchema: { type: "object" } },
    ];
    expect(mcpToolRows(tools)).toEqual([
      ["Tool", "Server", "Description"],
      ["experts", "core", "The configured experts."],
      ["echo", "everything", "Echoes back the input string"],
      ["read", "files", "Read a file"],
      ["long", "files", `${"x".repeat(59)}…`],
    ]);
  });

  it("mcp: parses tools [server] and call SERVER TOOL JSON from the raw line (JSON with spaces, or none)", () => {
    expect(parseMcpLine("mcp tools")).toEqual({ command: "tools" });
    expect(parseMcpLine("mcp tools everything")).toEqual({ command: "tools", server: "everything" });
    expect(parseMcpLine('mcp call everything echo {"message":"hi"}')).toEqual({ command: "call", server: "everything", tool: "echo", arguments: { message: "hi" } });
    // The REPL takes quotes off: '{"message": "hi there"}' arrives as one word with its spaces.
    expect(parseMcpLine('mcp call everything echo {"message": "hi there", "n": -1}')).toEqual({ command: "call", server: "everything", tool: "echo", arguments: { message: "hi there", n: -1 } });
    expect(parseMcpLine("mcp call core experts")).toEqual({ command: "call", server: "core", tool: "experts", arguments: {} });
  });

  it("mcp: bad JSON, JSON that is not an object, or a malformed line are refused saying how to write it", () => {
    const refusal = (line: string) => {
      try {
        parseMcpLine(line);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        const e = err as ValidationError;
        return `${e.message} | ${e.issues.map((i) => `${i.field}: ${i.message}`).join(" | ")}`;
      }
      throw new Error(`accepted: ${line}`);
    };
    // What an unquoted JSON with spaces becomes once the REPL split it into words and took their quotes off.
    expect(refusal('mcp call everything echo {"message": hi there }')).toMatch(
      /^The arguments of everything\/echo are not valid JSON: \{"message": hi there \} \| JSON: .+; write one JSON object, in single quotes if it holds spaces: mcp call everything echo '\{"message": "hi there"\}'$/,
    );
    expect(refusal("mcp call everything echo [1,2]")).toMatch(/^The arguments of everything\/echo must be a JSON object, not an array/);
    expect(refusal('mcp call everything echo "hi"')).toMatch(/must be a JSON object, not "hi"/);
    expect(refusal("mcp call everything")).toMatch(/^Usage: mcp tools \[SERVER\] \| mcp call SERVER TOOL \[JSON\]/);
    expect(refusal("mcp list")).toMatch(/^Usage:/);
  });

  it("mcp call: prints a result's text, says what other content is, and marks a tool error", () => {
    expect(formatToolResult({ content: [{ type: "text", text: "Echo: hi" }] })).toEqual({ text: "Echo: hi", isError: false });
    expect(
      formatToolResult({
        content: [
          { type: "text", text: "two parts" },
          { type: "image", mimeType: "image/png", data: "AAAA" },
          { type: "resource", resource: { uri: "file:///a.txt", text: "inside" } },
          { type: "resource", resource: { uri: "file:///b.bin", mimeType: "application/octet-stream", blob: "AA==" } },
          { type: "resource_link", uri: "file:///c", name: "c" },
        ],
      }).text,
    ).toBe(["two parts", "[image image/png, 3 bytes]", "inside", "[resource file:///b.bin, application/octet-stream]", "[link file:///c (c)]"].join("\n"));
    expect(formatToolResult({ content: [], structuredContent: { sum: 42 } }).text).toBe('{\n  "sum": 42\n}');
    expect(formatToolResult({ content: [{ type: "text", text: "no such file" }], isError: true })).toEqual({ text: "no such file", isError: true });
  });

  describe("the mcp command", () => {
    const mcp = REPL_COMMANDS.find((c) => c.command.startsWith("mcp "))!;
    const helpers = { table: (rows: string[][]) => rows.map((r) => r.join(" | ")).join("\n") };
    let out: string[];
    let err: string[];
    beforeEach(() => {
      out = [];
      err = [];
      jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
      jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
    });
    afterEach(() => jest.restoreAllMocks());

    /** A broker whose mcp-gateway answers from `answers`, recording the calls. */
    function broker(answers: Record<string, unknown>) {
      const calls: Array<{ action: string; params: unknown; opts: { timeout?: number; meta?: unknown } }> = [];
      const b = {
        call: async (action: string, params: unknown, opts: { timeout?: number; meta?: unknown }) => {
          calls.push({ action, params, opts });
          const answer = answers[action];
          if (answer instanceof Error) throw answer;
          return answer;
        },
      };
      return { broker: b as unknown as ServiceBroker, calls };
    }
    const tools = { tools: [{ name: "core__health", server: "core", tool: "health", description: "Cluster health", inputSchema: {} }, { name: "everything__echo", server: "everything", tool: "echo", description: "Echoes", inputSchema: {} }] };

    it("mcp tools [server] lists the gateway's tools for this caller, one server's when named", async () => {
      const { broker: b, calls } = broker({ "mcp-gateway.tools": tools });
      await mcp.action(b, { rawCommand: "mcp tools" }, helpers);
      expect(out).toEqual(["Tool | Server | Description\nhealth | core | Cluster health\necho | everything | Echoes"]);
      expect(calls[0]).toMatchObject({ action: "mcp-gateway.tools", params: {}, opts: { meta: { source: "repl" } } });
      out.length = 0;
      await mcp.action(b, { rawCommand: "mcp tools everything" }, helpers);
      expect(out).toEqual(["Tool | Server | Description\necho | everything | Echoes"]);
      out.length = 0;
      await mcp.action(b, { rawCommand: "mcp tools nope" }, helpers);
      expect(out).toEqual(["No tools of MCP server nope (servers with tools: core, everything)"]);
    });

    it("mcp call sends the arguments to mcp-gateway.call and prints the text; a tool error goes to stderr, marked", async () => {
      const ok = broker({ "mcp-gateway.call": { content: [{ type: "text", text: "Echo: hi" }] } });
      await mcp.action(ok.broker, { rawCommand: 'mcp call everything echo {"message":"hi"}' }, helpers);
      expect(ok.calls[0]).toMatchObject({ action: "mcp-gateway.call", params: { server: "everything", tool: "echo", arguments: { message: "hi" } }, opts: { meta: { source: "repl" } } });
      // Past the gateway's own deadline for the slowest tool (a consult), so the gateway answers first.
      expect(ok.calls[0]!.opts.timeout).toBeGreaterThan(65_000);
      expect(out).toEqual(["Echo: hi"]);

      const failed = broker({ "mcp-gateway.call": { content: [{ type: "text", text: "ENOENT: no such file" }], isError: true } });
      await mcp.action(failed.broker, { rawCommand: 'mcp call files read {"path":"/x"}' }, helpers);
      expect(err).toEqual(["Tool error from files/read:\nENOENT: no such file"]);
    });

    it("mcp call with bad JSON calls nothing and says how to write it; a refusal prints its code", async () => {
      const { broker: b, calls } = broker({ "mcp-gateway.call": new ValidationError("never") });
      await mcp.action(b, { rawCommand: "mcp call everything echo {message:hi}" }, helpers);
      expect(calls).toEqual([]);
      expect(err.join("\n")).toMatch(/^The arguments of everything\/echo are not valid JSON: \{message:hi\} \[VALIDATION_FAILED\]\n {2}- JSON: .*single quotes/);
      err.length = 0;
      await mcp.action(b, { rawCommand: "mcp call everything echo {}" }, helpers);
      expect(err).toEqual(["never [VALIDATION_FAILED]"]);
    });
  });
});
