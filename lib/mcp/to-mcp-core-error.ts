import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { CoreError, DeadlineExceededError, UnavailableError } from "../errors";
import { McpUpstreamError } from "../errors/mcp-errors";

/** Socket-level failures: the server is not there (now), which a later attempt may not meet. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

function networkCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** The HTTP status an HTTP transport failed with, when it says. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof StreamableHTTPError || err instanceof SseError) return typeof err.code === "number" && err.code > 0 ? err.code : undefined;
  // The legacy SSE transport's POST reports its status only in the message.
  const m = err instanceof Error ? /Error POSTing to endpoint \(HTTP (\d{3})\)/.exec(err.message) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * The server no longer knows our session: Streamable HTTP (and legacy SSE)
 * answer 404 to a request that carries a session id it forgot. The request
 * was not processed, so initialising anew and sending it again is safe.
 */
export function isSessionExpired(err: unknown): boolean {
  return httpStatusOf(err) === 404;
}

/**
 * The request was sent but the connection was lost before its answer: the
 * server may or may not have acted on it (unlike a refused connection, where
 * it never arrived).
 */
export function isOutcomeUnknown(err: unknown): boolean {
  if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed;
  const code = networkCode(err);
  return code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET";
}

/**
 * What a failure talking to MCP server `server` means to CORE's callers:
 * - the server's JSON-RPC error → MCP_UPSTREAM_ERROR, saying which server and what it said;
 * - the SDK's request timeout → DEADLINE_EXCEEDED;
 * - a closed connection, a refused socket, an HTTP 5xx/429 → UNAVAILABLE (retryable);
 * - an HTTP 4xx, or an answer that does not parse → MCP_UPSTREAM_ERROR.
 */
export function toMcpCoreError(server: string, operation: string, err: unknown): CoreError {
  if (err instanceof CoreError) return err;
  const data = { server, operation };
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) {
      return new DeadlineExceededError(`MCP server ${server} did not answer ${operation} before the deadline`, { data, cause: err });
    }
    if (err.code === ErrorCode.ConnectionClosed) {
      return new UnavailableError(`MCP server ${server} closed the connection during ${operation}`, { data, cause: err });
    }
    // The SDK prefixes "MCP error <code>: " on each side of the wire; the code is said once.
    const said = err.message.replace(/^(MCP error -?\d+: )+/, "");
    return new McpUpstreamError(`MCP server ${server} answered ${operation} with error ${err.code}: ${said}`, {
      data: { ...data, code: err.code, ...(err.data !== undefined ? { upstream: err.data as unknown } : {}) },
      cause: err,
    });
  }
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const message = `MCP server ${server} answered ${operation} with HTTP ${status}: ${(err as Error).message}`;
    if (status >= 500 || status === 429 || status === 408) return new UnavailableError(message, { data: { ...data, httpStatus: status }, cause: err });
    return new McpUpstreamError(message, { data: { ...data, httpStatus: status }, cause: err });
  }
  const code = networkCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code || (err instanceof TypeError && /fetch failed/i.test(message)) || /not connected/i.test(message)) {
    return new UnavailableError(`MCP server ${server} cannot be reached for ${operation}: ${code ?? message}`, { data: { ...data, ...(code ? { errno: code } : {}) }, cause: err });
  }
  if (err instanceof Error && err.name === "ZodError") {
    return new McpUpstreamError(`MCP server ${server} answered ${operation} with a result that is not valid MCP`, { data, cause: err });
  }
  return new McpUpstreamError(`MCP server ${server} failed ${operation}: ${message}`, { data, cause: err });
}
