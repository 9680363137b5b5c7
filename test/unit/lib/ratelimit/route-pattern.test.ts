import { parseRoutePattern, routeKeyProblems, type RoutePattern } from "../../../../lib/ratelimit/route-pattern";

function pattern(text: string): RoutePattern {
  const parsed = parseRoutePattern(text);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed.pattern;
}

describe("rate-limit route keys", () => {
  it("match a method and a path, the method in any case", () => {
    const p = pattern("post /api/v1/consult");
    expect(p.key).toBe("POST /api/v1/consult");
    expect(p.matches("POST", "/api/v1/consult")).toBe(true);
    expect(p.matches("post", "/api/v1/consult")).toBe(true);
    expect(p.matches("GET", "/api/v1/consult")).toBe(false);
    expect(p.matches("HEAD", "/api/v1/consult")).toBe(false);
    expect(p.matches("POST", "/api/v1/consult/x")).toBe(false);
    expect(p.matches("POST", "/api/v1")).toBe(false);
  });

  it("cannot be slipped past by respelling the path", () => {
    const p = pattern("POST /api/v1/consult");
    for (const path of ["/api/v1/consult/", "//api//v1/consult", "/API/V1/Consult", "/api/v1/%63onsult", "/api/v1/consult?x=1", "/api/v1/consult#f"]) {
      expect([path, p.matches("POST", path)]).toEqual([path, true]);
    }
    // A bad percent-escape is compared as written, never thrown.
    expect(p.matches("POST", "/api/v1/%E0%A4%A")).toBe(false);
  });

  it("take any method without one, `:name` for one segment, and a last `*` for the rest", () => {
    expect(pattern("/api/v1/experts").matches("DELETE", "/api/v1/experts")).toBe(true);
    expect(pattern("* /api/v1/experts").key).toBe("* /api/v1/experts");
    const one = pattern("GET /api/v1/consultations/:id");
    expect(one.matches("GET", "/api/v1/consultations/abc")).toBe(true);
    expect(one.matches("GET", "/api/v1/consultations/:id")).toBe(true);
    expect(one.matches("GET", "/api/v1/consultations")).toBe(false);
    expect(one.matches("GET", "/api/v1/consultations/abc/more")).toBe(false);
    const rest = pattern("/api/v1/*");
    expect(rest.matches("GET", "/api/v1")).toBe(true);
    expect(rest.matches("POST", "/api/v1/mcp/tools/fs/read")).toBe(true);
    expect(rest.matches("GET", "/api/v2/x")).toBe(false);
    expect(pattern("/*").matches("GET", "/")).toBe(true);
  });

  it("say what is wrong with a key that is not one", () => {
    for (const bad of ["consult", "", "PSOT /x", "GET /a/*/b", "GET /a/b*", "GET /a?x=1", "GET /a/:", "GET /a/:x-y", "GET  /a /b"]) {
      expect([bad, "error" in parseRoutePattern(bad)]).toEqual([bad, true]);
    }
    expect(routeKeyProblems(["POST /x", "post /X/", "GET /y", "nope"])).toEqual([
      ["post /X/", expect.stringContaining('"POST /x"')],
      ["nope", expect.stringContaining("[METHOD ]/path")],
    ]);
  });
});
