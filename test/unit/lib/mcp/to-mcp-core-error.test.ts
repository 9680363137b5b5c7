import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { DeadlineExceededError, fromPlainError, UnavailableError } from "../../../../lib/errors";
import { McpCallCancelledError, McpToolNotFoundError, McpUpstreamError } from "../../../../lib/errors/mcp-errors";
import { isOutcomeUnknown, isSessionExpired, toMcpCoreError } from "../../../../lib/mcp/to-mcp-core-error";

describe("toMcpCoreError", () => {
  it("a JSON-RPC error is MCP_UPSTREAM_ERROR naming the server and what it said", () => {
    const err = toMcpCoreError("everything", "tools/call echo", new McpError(ErrorCode.InvalidParams, "message: Required"));
    expect(err).toBeInstanceOf(McpUpstreamError);
    expect(err).toMatchObject({ code: "MCP_UPSTREAM_ERROR", status: 502, retryable: false });
    expect(err.message).toBe("MCP server everything answered tools/call echo with error -32602: message: Required");
    expect(err.data).toMatchObject({ server: "everything", operation: "tools/call echo", code: -32602 });
  });

  it("the SDK's request timeout is DEADLINE_EXCEEDED", () => {
    const err = toMcpCoreError("s", "tools/call slow", new McpError(ErrorCode.RequestTimeout, "Request timed out"));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.status).toBe(504);
  });

  it("a closed connection or an unreachable server is UNAVAILABLE, retryable", () => {
    const closed = toMcpCoreError("s", "tools/list", new McpError(ErrorCode.ConnectionClosed, "Connection closed"));
    expect(closed).toBeInstanceOf(UnavailableError);
    expect(closed.retryable).toBe(true);
    const refused = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
    const err = toMcpCoreError("remote", "initialize", refused);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe("MCP server remote cannot be reached for initialize: ECONNREFUSED");
    expect(toMcpCoreError("s", "ping", new Error("Not connected"))).toBeInstanceOf(UnavailableError);
  });

  it("HTTP statuses: 5xx and 429 are UNAVAILABLE, other 4xx MCP_UPSTREAM_ERROR", () => {
    expect(toMcpCoreError("h", "tools/call x", new StreamableHTTPError(503, "Error POSTing to endpoint: busy"))).toBeInstanceOf(UnavailableError);
    expect(toMcpCoreError("h", "tools/call x", new StreamableHTTPError(429, "slow down"))).toBeInstanceOf(UnavailableError);
    const forbidden = toMcpCoreError("h", "tools/call x", new StreamableHTTPError(403, "Error POSTing to endpoint: forbidden"));
    expect(forbidden).toBeInstanceOf(McpUpstreamError);
    expect(forbidden.data).toMatchObject({ httpStatus: 403 });
    expect(toMcpCoreError("s", "initialize", new SseError(502, "bad gateway", undefined as unknown as ConstructorParameters<typeof SseError>[2]))).toBeInstanceOf(UnavailableError);
  });

  it("CORE errors pass through; anything else is MCP_UPSTREAM_ERROR with its message", () => {
    const notFound = new McpToolNotFoundError("no tool");
    expect(toMcpCoreError("s", "tools/call", notFound)).toBe(notFound);
    const odd = toMcpCoreError("s", "resources/read", new Error("something odd"));
    expect(odd).toBeInstanceOf(McpUpstreamError);
    expect(odd.message).toBe("MCP server s failed resources/read: something odd");
  });

  it("a session the server forgot is a 404 from either HTTP transport", () => {
    expect(isSessionExpired(new StreamableHTTPError(404, "Error POSTing to endpoint: Session not found"))).toBe(true);
    expect(isSessionExpired(new Error("Error POSTing to endpoint (HTTP 404): Session not found"))).toBe(true);
    expect(isSessionExpired(new StreamableHTTPError(400, "bad"))).toBe(false);
    expect(isSessionExpired(new McpError(ErrorCode.InvalidRequest, "x"))).toBe(false);
  });
});

describe("MCP errors", () => {
  it("cross NATS as their codes, with status and retryable", () => {
    for (const [err, code, status] of [
      [new McpToolNotFoundError("x"), "MCP_TOOL_NOT_FOUND", 404],
      [new McpUpstreamError("x"), "MCP_UPSTREAM_ERROR", 502],
      [new McpCallCancelledError("x"), "MCP_CALL_CANCELLED", 499],
    ] as const) {
      const rebuilt = fromPlainError(JSON.parse(JSON.stringify(err.toJSON())));
      expect(rebuilt).toBeInstanceOf(err.constructor);
      expect(rebuilt).toMatchObject({ code, status, retryable: false });
    }
  });
});

describe("isOutcomeUnknown", () => {
  it("is true when the connection was lost after the request went out", () => {
    expect(isOutcomeUnknown(new McpError(ErrorCode.ConnectionClosed, "Connection closed"))).toBe(true);
    expect(isOutcomeUnknown(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true);
    expect(isOutcomeUnknown(Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }) }))).toBe(false);
    expect(isOutcomeUnknown(new McpError(ErrorCode.InvalidParams, "bad"))).toBe(false);
  });
});
