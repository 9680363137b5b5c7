import type { RateLimitsConfig, RateLimitRequest } from "../ratelimit/rate-limiter";

/**
 * Rate limits per tool reuse `rateLimits.routes` with the pseudo-method `MCP`
 * (see lib/ratelimit/route-pattern.ts): a key `MCP /<server>/<tool>` is a
 * token bucket per principal for that tool, `MCP /<server>/*` for a whole
 * server, `MCP /*` for every tool call. They apply to every tool call through
 * the gateway, whatever the entry point (MCP over HTTP or stdio, REST). Keys
 * of HTTP methods (and `*`) stay HTTP's: a call over /mcp already draws on
 * those as a POST, and is not counted twice. `rateLimits.default` is HTTP's
 * too for the same reason.
 */
export const TOOL_CALL_METHOD = "MCP";

const MCP_KEY = /^\s*MCP\s/i;

/** The part of the rate-limit configuration that governs tool calls. */
export function toolRateLimits(config: RateLimitsConfig): RateLimitsConfig {
  return { routes: Object.fromEntries(Object.entries(config.routes).filter(([key]) => MCP_KEY.test(key))) };
}

/** The rate limiter's view of one tool call. */
export function toolCallRequest(server: string, tool: string, principalId: string | undefined, source: string | undefined): RateLimitRequest {
  // Encoded, so a tool name holding '/' stays one segment.
  return { principalId, clientAddress: source, method: TOOL_CALL_METHOD, path: `/${encodeURIComponent(server)}/${encodeURIComponent(tool)}` };
}
