import { parseRoutePattern, routeKeyProblems } from "../../../../lib/ratelimit/route-pattern";
import { TOOL_CALL_METHOD, toolCallRequest, toolRateLimits } from "../../../../lib/mcp-gateway/tool-rate-limits";

const bucket = { capacity: 5, refillPerSecond: 1 };

describe("per-tool rate limits", () => {
  it("accept `MCP /<server>/<tool>` route keys, with the usual wildcards", () => {
    expect(routeKeyProblems(["MCP /demo/echo", "mcp /demo/*", "MCP /*"])).toEqual([]);
    const one = parseRoutePattern("MCP /demo/echo") as { pattern: { matches(m: string, p: string): boolean } };
    const request = toolCallRequest("demo", "echo", "alice", undefined);
    expect(request).toEqual({ principalId: "alice", clientAddress: undefined, method: TOOL_CALL_METHOD, path: "/demo/echo" });
    expect(one.pattern.matches(request.method, request.path)).toBe(true);
    expect(one.pattern.matches("POST", "/demo/echo")).toBe(false);
    const server = parseRoutePattern("MCP /demo/*") as { pattern: { matches(m: string, p: string): boolean } };
    expect(server.pattern.matches(TOOL_CALL_METHOD, toolCallRequest("demo", "add", "a", undefined).path)).toBe(true);
    expect(server.pattern.matches(TOOL_CALL_METHOD, toolCallRequest("files", "read", "a", undefined).path)).toBe(false);
  });

  it("keep a tool name with a slash in one segment", () => {
    const request = toolCallRequest("demo", "a/b", "alice", undefined);
    const pattern = (parseRoutePattern("MCP /demo/:tool") as { pattern: { matches(m: string, p: string): boolean } }).pattern;
    expect(pattern.matches(request.method, request.path)).toBe(true);
  });

  it("take only the MCP keys of the configuration: HTTP keys and the default stay HTTP's", () => {
    const limits = toolRateLimits({
      default: bucket,
      routes: { "MCP /demo/*": bucket, "mcp /x/y": bucket, "* /*": bucket, "/api/v1/*": bucket, "POST /mcp": bucket },
    });
    expect(limits).toEqual({ routes: { "MCP /demo/*": bucket, "mcp /x/y": bucket } });
  });
});
