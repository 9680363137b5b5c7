/**
 * How the rest of CORE talks to the `mcp.<server>` actors (one per configured
 * MCP server), wherever they run: action names, parameters, answers and the
 * events they send. The MCP gateway, the REST routes, NATS ingress and the
 * REPL depend on this, not on how an actor reaches its server.
 */

/** The actor (Moleculer service) name of a configured MCP server. */
export const mcpActorName = (server: string): string => `mcp.${server}`;

/** Permission to call one tool of one server (RBAC; `mcp:call:*` grants all). */
export const mcpCallPermission = (server: string, tool: string): string => `mcp:call:${server}/${tool}`;

/** A tool as the upstream server describes it (only those its `allow` globs admit). */
export interface McpTool {
  /** The upstream name (the gateway namespaces it as `<server>__<name>`). */
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** `mcp.<server>.listTools {}` → every allowed tool, all pages followed, from the actor's catalogue. */
export interface McpToolList {
  server: string;
  tools: McpTool[];
}

/**
 * `mcp.<server>.callTool` parameters. Permission: `mcp:call:<server>/<tool>`.
 * The call's deadline is the Moleculer call's (it travels in meta).
 */
export interface McpCallToolParams {
  tool: string;
  arguments?: Record<string, unknown>;
  /** When set, upstream progress is broadcast as MCP_PROGRESS_EVENT with this token. */
  progressToken?: string;
  /** When set, broadcasting MCP_CANCEL_EVENT with this id cancels the call upstream. */
  callId?: string;
}

/** The MCP CallToolResult as the upstream server answered it (`isError: true` is a tool-level failure, not a thrown error). */
export interface McpCallToolResult {
  content: Array<Record<string, unknown>>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [key: string]: unknown;
}

/** `mcp.<server>.status {}`: how the actor is connected. */
export interface McpServerStatus {
  server: string;
  transport: "stdio" | "http" | "sse";
  connected: boolean;
  tools: number;
  /** The server's circuit breaker. */
  circuit: "closed" | "open" | "half-open";
  /** stdio only: the child process. */
  pid?: number;
  serverInfo?: { name: string; version: string };
  lastError?: string;
}

/** Broadcast by an actor for a call made with a progressToken. */
export const MCP_PROGRESS_EVENT = "mcp.progress";
export interface McpProgress {
  progressToken: string;
  progress: number;
  total?: number;
  message?: string;
}

/** Broadcast by a caller to cancel the call made with that callId (the actor holding it aborts it upstream). */
export const MCP_CANCEL_EVENT = "mcp.cancel";
export interface McpCancel {
  callId: string;
  reason?: string;
}

/** Broadcast by an actor when its server's tool list changed (notifications/tools/list_changed, or a reconnect). */
export const MCP_TOOLS_CHANGED_EVENT = "mcp.tools.changed";
export interface McpToolsChanged {
  server: string;
  tools: string[];
}
