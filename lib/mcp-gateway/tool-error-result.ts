import type { CoreError, FieldIssue } from "../errors";
import type { McpCallToolResult } from "../mcp/mcp-actor-contract";

/** Codes that mean "no such tool": an MCP client gets JSON-RPC -32602 for these, not a tool result. */
const UNKNOWN_TOOL_CODES = new Set(["NOT_FOUND", "MCP_TOOL_NOT_FOUND"]);

export function isUnknownTool(err: CoreError): boolean {
  return UNKNOWN_TOOL_CODES.has(err.code);
}

function issuesText(err: CoreError): string {
  const issues = (err.data.issues as FieldIssue[] | undefined) ?? [];
  return issues.length ? `: ${issues.map((i) => `${i.field || "arguments"}: ${i.message}`).join("; ")}` : "";
}

/**
 * A failed call as an MCP tool result (`isError: true`) the model can read
 * and act on, rather than a protocol error or a dropped session: refusals
 * say so, upstream failures name the tool, the reason and whether trying
 * again may help. `_meta["core/error"]` carries the same for programs.
 */
export function toolErrorResult(err: CoreError, tool: string): McpCallToolResult {
  let text: string;
  if (err.status === 401 || err.status === 403) text = `Not allowed to call ${tool}: ${err.message}`;
  else if (err.code === "RATE_LIMITED") text = `Rate limit for ${tool} reached: ${err.message}`;
  else if (err.status === 422 || err.status === 400) text = `Invalid arguments for ${tool}: ${err.message}${issuesText(err)}`;
  else text = `${tool} failed: ${err.message} [${err.code}]${err.retryable ? "; this is temporary, trying again later may succeed" : ""}`;
  const retryAfterSec = typeof err.data.retryAfterSec === "number" ? { retryAfterSec: err.data.retryAfterSec } : {};
  return {
    content: [{ type: "text", text }],
    isError: true,
    _meta: { "core/error": { code: err.code, status: err.status, retryable: err.retryable, ...retryAfterSec } },
  };
}
