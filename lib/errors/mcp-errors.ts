import { CoreError } from "./core-error";

/*
 * Failures of the MCP server actors (`mcp.<server>`). Registered with the rest
 * in registry.ts, so they cross NATS with their codes. A server that is not
 * connected answers UNAVAILABLE (retryable), its open breaker CIRCUIT_OPEN,
 * a passed deadline DEADLINE_EXCEEDED: the general errors, not new ones.
 */

/**
 * The server has no such tool, or its `allow` globs hide it: the same answer
 * for both, so a hidden tool's existence is not revealed.
 */
export class McpToolNotFoundError extends CoreError {
  static override readonly code = "MCP_TOOL_NOT_FOUND";
  static override readonly status = 404;
}

/**
 * The MCP server answered with a JSON-RPC error (or an answer CORE could not
 * read); the message names the server and says what it said. A tool that ran
 * and failed is not this: its result comes back with `isError: true`.
 */
export class McpUpstreamError extends CoreError {
  static override readonly code = "MCP_UPSTREAM_ERROR";
  static override readonly status = 502;
}

/**
 * The call was cancelled (MCP_CANCEL_EVENT) and the server was told so with
 * notifications/cancelled. 499 as in "client closed request": the caller
 * asked for it, so it is neither retryable nor a fault of the server.
 */
export class McpCallCancelledError extends CoreError {
  static override readonly code = "MCP_CALL_CANCELLED";
  static override readonly status = 499;
}
