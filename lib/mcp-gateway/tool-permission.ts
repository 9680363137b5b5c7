import { mcpCallPermission } from "../mcp/mcp-actor-contract";
import { coreTool } from "./core-tools";
import { CORE_SERVER } from "./tool-names";

/** The permission calling a tool needs: an upstream tool's `mcp:call:<server>/<tool>`, a CORE tool's own (core/consult: consult:run). */
export function toolCallPermission(server: string, tool: string): string {
  return (server === CORE_SERVER ? coreTool(tool)?.permission : undefined) ?? mcpCallPermission(server, tool);
}
