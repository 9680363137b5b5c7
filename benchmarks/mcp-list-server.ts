import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";

/**
 * The upstream servers of benchmarks/mcp's listing part: a small MCP server
 * over stdio, built with the SDK, run ten times (by CORE, and by the
 * benchmark itself for the direct comparison).
 *
 *   node mcp-list-server.js <index> <tools>
 *
 * lists `<tools> − 1` tools `tool_<j>` shaped like real ones (a description of
 * a sentence or two, an input schema of four typed properties, annotations)
 * plus `add_tool`, which adds a tool `added_<n>`, sends
 * notifications/tools/list_changed and answers
 * `{"name":"added_<n>","notifiedAt":<ms>}`: the wall-clock time
 * (performance.timeOrigin + performance.now(), sub-millisecond, the same
 * clock in every process of the machine) at which it sent the notification.
 * Every tool answers a short text when called.
 */

/** One tool as a real server would describe it (about 800 bytes of JSON). */
function fillerTool(server: number, j: number): Tool {
  return {
    name: `tool_${j}`,
    title: `Tool ${j} of server ${server}`,
    description: `Looks up records of kind ${j} in the data of server ${server}, filtered by a query and a status, newest first. Answers at most \`limit\` records as JSON lines.`,
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", description: "Free text matched against the record's title and body" },
        status: { type: "string", enum: ["open", "closed", "all"], description: "Which records to include", default: "open" },
        limit: { type: "integer", minimum: 1, maximum: 100, description: "How many records at most", default: 20 },
        since: { type: "string", format: "date-time", description: "Only records changed after this time (ISO 8601)" },
      },
      required: ["query"],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  };
}

const ADD_TOOL: Tool = {
  name: "add_tool",
  description: "Adds a tool to this server and tells the client its tool list changed",
  inputSchema: { type: "object", properties: {} },
};

const wallClockMs = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const index = Number(process.argv[2] ?? 0);
  const count = Number(process.argv[3] ?? 12);
  const tools: Tool[] = [...Array.from({ length: count - 1 }, (_, j) => fillerTool(index, j)), ADD_TOOL];
  let added = 0;
  const server = new Server({ name: `bench-list-${index}`, version: "1.0.0" }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    const { name } = req.params;
    if (name === ADD_TOOL.name) {
      const tool = { ...fillerTool(index, 0), name: `added_${++added}` };
      tools.push(tool);
      const notifiedAt = wallClockMs();
      await server.sendToolListChanged();
      return { content: [{ type: "text", text: JSON.stringify({ name: tool.name, notifiedAt }) }] };
    }
    if (!tools.some((t) => t.name === name)) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
    return { content: [{ type: "text", text: `${name} found no records` }] };
  });
  await server.connect(new StdioServerTransport());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
