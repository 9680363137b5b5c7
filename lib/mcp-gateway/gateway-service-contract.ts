import type { GatewayTool } from "./tool-gateway";

/**
 * The `mcp-gateway` service as other nodes reach it (REST, `core mcp` on a
 * client node): its actions and the event it broadcasts.
 */
export const MCP_GATEWAY_SERVICE = "mcp-gateway";

/** `mcp-gateway.tools {}` → the caller's tools (permission mcp:list). */
export interface GatewayToolList {
  tools: GatewayTool[];
}

/**
 * `mcp-gateway.call`: a tool by server and tool (REST; permission
 * `mcp:call:<server>/<tool>`, or the CORE tool's own) or by namespaced name
 * (`core mcp`; the gateway checks the permission itself). `progressToken` and
 * `callId` are passed to the actor as they are, for a caller that listens for
 * MCP_PROGRESS_EVENT and broadcasts MCP_CANCEL_EVENT itself.
 */
export interface GatewayCallParams {
  server?: string;
  tool?: string;
  name?: string;
  arguments?: Record<string, unknown>;
  progressToken?: string;
  callId?: string;
}

/** `mcp-gateway.authenticate { credential }` → the principal (in-cluster only: no permission, so no edge routes to it). */
export interface GatewayAuthenticateParams {
  credential: string;
}

/** Broadcast by a gateway whose catalogue changed, for MCP front-ends on other nodes (`core mcp`). */
export const MCP_CATALOGUE_CHANGED_EVENT = "mcp-gateway.catalogue.changed";
