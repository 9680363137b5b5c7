import type { McpCallToolResult, McpTool } from "../mcp/mcp-actor-contract";
import type { GatewayCaller } from "./gateway-caller";

/** A tool as the gateway offers it: the upstream definition under its namespaced name, with where it comes from. */
export interface GatewayTool extends McpTool {
  /** `<server>__<tool>`. */
  name: string;
  server: string;
  /** The upstream (or CORE's) own name. */
  tool: string;
}

/** A tool to call: by its namespaced name (MCP clients) or by server and tool (REST). */
export type ToolTarget = { name: string } | { server: string; tool: string };

export interface ToolProgress {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
}

export interface ToolCallOptions {
  /** Told about the call's progress (the MCP client asked for it with a progressToken). */
  onProgress?: ((progress: ToolProgress) => void) | undefined;
  /** Aborted: the call is cancelled upstream (MCP_CANCEL_EVENT). */
  signal?: AbortSignal | undefined;
  /**
   * Pass-through for a front-end on another node (`core mcp`): the actor
   * broadcasts progress with this token, which that front-end listens for.
   */
  progressToken?: string | undefined;
  /** Pass-through: the id whose MCP_CANCEL_EVENT cancels the call (the front-end broadcasts it). */
  callId?: string | undefined;
  /** The Moleculer context the call is made from (REST), so its trace continues; opaque to lib/. */
  context?: unknown;
}

/**
 * What an MCP front-end (a Streamable HTTP session, `core mcp` over stdio)
 * needs from the gateway: the caller's tools, a call, and word when the
 * catalogue changed. Calls throw CoreErrors; the front-end maps them to MCP.
 */
export interface ToolGateway {
  listTools(caller: GatewayCaller): Promise<GatewayTool[]>;
  callTool(caller: GatewayCaller, target: ToolTarget, args: Record<string, unknown> | undefined, options?: ToolCallOptions): Promise<McpCallToolResult>;
  /** Subscribes to catalogue changes; returns the unsubscribe function. */
  onToolsChanged(listener: () => void): () => void;
}
