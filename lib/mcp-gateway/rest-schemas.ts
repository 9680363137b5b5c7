import { z } from "zod";

/**
 * The REST face of the gateway, for the route table (lib/http/api-routes.ts):
 * `GET /api/v1/mcp/tools` → `mcp-gateway.tools`, and
 * `POST /api/v1/mcp/tools/:server/:tool` (the body is the tool's arguments)
 * → `mcp-gateway.call` with `toParams: mcpCallParams`.
 */

const jsonObject = z.record(z.string(), z.unknown());

export const mcpToolSchema = z
  .object({
    name: z.string().meta({ description: "`<server>__<tool>`, as MCP clients of /mcp see it" }),
    server: z.string().meta({ description: "The MCP server (`core` for CORE's own tools)" }),
    tool: z.string().meta({ description: "The tool's own name on its server" }),
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: jsonObject.meta({ description: "JSON Schema of the arguments" }),
    outputSchema: jsonObject.optional(),
    annotations: jsonObject.optional(),
  });

export const mcpToolListSchema = z.object({ tools: z.array(mcpToolSchema) });

export const mcpCallPathSchema = z.strictObject({
  server: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: "an MCP server name (or core)" }),
  tool: z.string().min(1).max(256),
});

/** The tool's arguments (an object; none: `{}`). */
export const mcpCallBodySchema = jsonObject.optional();

/** An MCP CallToolResult: `isError: true` is the tool's own failure, answered 200 like any result. */
export const mcpCallResultSchema = z
  .looseObject({
    content: z.array(jsonObject),
    structuredContent: jsonObject.optional(),
    isError: z.boolean().optional(),
  });

/** The action's parameters from the validated path and body. */
export function mcpCallParams(parts: { path: Record<string, unknown>; body: unknown }): Record<string, unknown> {
  return { server: parts.path.server, tool: parts.path.tool, arguments: (parts.body as Record<string, unknown> | undefined) ?? {} };
}
