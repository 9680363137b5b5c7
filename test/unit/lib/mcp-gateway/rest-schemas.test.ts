import { mcpCallBodySchema, mcpCallParams, mcpCallPathSchema, mcpCallResultSchema, mcpToolListSchema } from "../../../../lib/mcp-gateway/rest-schemas";

describe("the gateway's REST schemas", () => {
  it("read a tool call's path and body into the call action's parameters", () => {
    const path = mcpCallPathSchema.parse({ server: "everything", tool: "get-sum" });
    const body = mcpCallBodySchema.parse({ a: 1, b: 2 });
    expect(mcpCallParams({ path, body })).toEqual({ server: "everything", tool: "get-sum", arguments: { a: 1, b: 2 } });
    expect(mcpCallParams({ path: { server: "core", tool: "experts" }, body: undefined })).toEqual({ server: "core", tool: "experts", arguments: {} });
    expect(mcpCallPathSchema.safeParse({ server: "Bad Name", tool: "x" }).success).toBe(false);
    expect(mcpCallBodySchema.safeParse([1, 2]).success).toBe(false);
  });

  it("describe the answers: the tool list and a CallToolResult, extra fields kept", () => {
    expect(mcpToolListSchema.parse({ tools: [{ name: "demo__echo", server: "demo", tool: "echo", inputSchema: { type: "object" } }] }).tools).toHaveLength(1);
    expect(mcpCallResultSchema.parse({ content: [{ type: "text", text: "hi" }], isError: true, _meta: { x: 1 } })).toEqual({ content: [{ type: "text", text: "hi" }], isError: true, _meta: { x: 1 } });
  });
});
