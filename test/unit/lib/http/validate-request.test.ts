import { ValidationError } from "../../../../lib/errors";
import { API_ROUTES } from "../../../../lib/http/api-routes";
import { validateRequest } from "../../../../lib/http/validate-request";

const route = (operationId: string) => API_ROUTES.find((r) => r.operationId === operationId)!;
const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error("expected a ValidationError");
};

describe("validateRequest", () => {
  it("turns a valid request into the action's parameters, coercing query strings", () => {
    expect(validateRequest(route("consult"), { path: {}, query: {}, body: { question: "Why?", experts: ["a"] } })).toEqual({ question: "Why?", experts: ["a"] });
    expect(validateRequest(route("listConsultations"), { path: {}, query: { limit: "20", status: "failed" }, body: undefined })).toEqual({ limit: 20, status: "failed" });
    expect(validateRequest(route("costSummary"), { path: {}, query: { groupBy: "provider, day" }, body: {} })).toEqual({ groupBy: ["provider", "day"] });
    expect(validateRequest(route("restartActor"), { path: { name: "expert.a" }, query: {}, body: undefined })).toEqual({ actor: "expert.a" });
    expect(validateRequest(route("restartActor"), { path: { name: "expert.a" }, query: {}, body: { nodeID: "n2" } })).toEqual({ actor: "expert.a", nodeID: "n2" });
  });

  it("reports every failing field at once, named by where it was", () => {
    const issues = issuesOf(() =>
      validateRequest(route("listConsultations"), { path: {}, query: { limit: "0", status: "odd", colour: "red" }, body: undefined }),
    );
    expect(issues.map((i) => i.field).sort()).toEqual(["query.colour", "query.limit", "query.status"]);
    expect(issuesOf(() => validateRequest(route("consult"), { path: {}, query: {}, body: { question: "" } }))[0]).toMatchObject({
      field: "body.question",
      message: expect.stringMatching(/not blank/),
    });
    expect(issuesOf(() => validateRequest(route("getConsultation"), { path: { id: "nope" }, query: {}, body: undefined }))[0]).toMatchObject({
      field: "path.id",
      message: expect.stringMatching(/a consultation id \(a UUID\)/),
    });
  });

  it("takes nothing or {} where a route has no body, and refuses anything else, [] included", () => {
    expect(validateRequest(route("listExperts"), { path: {}, query: {}, body: {} })).toEqual({});
    for (const body of [[], [1], { a: 1 }, 42, "x"]) {
      expect(issuesOf(() => validateRequest(route("listExperts"), { path: {}, query: {}, body }))).toEqual([{ field: "body", message: "no body expected for this route" }]);
    }
  });

  it("refuses a body nested deeper than the stack with a 422, not a crash", () => {
    let experts: unknown = [];
    for (let i = 0; i < 20_000; i++) experts = [experts];
    const issues = issuesOf(() => validateRequest(route("consult"), { path: {}, query: {}, body: { question: "q", experts } }));
    expect(issues).toContainEqual({ field: expect.stringMatching(/^body\.experts/), message: expect.stringMatching(/^received an array; expected/) });
    expect(issues).toContainEqual({ field: expect.stringMatching(/^body\.experts(\[0\]){30}/), message: "at most 32 levels of nested arrays and objects" });
  });

  it("refuses parameters a route does not take", () => {
    expect(issuesOf(() => validateRequest(route("listActors"), { path: {}, query: { x: "1" }, body: undefined }))[0]!.field).toBe("query.x");
    expect(issuesOf(() => validateRequest(route("listActors"), { path: {}, query: {}, body: { x: 1 } }))[0]!.field).toBe("body");
    expect(issuesOf(() => validateRequest(route("consult"), { path: {}, query: {}, body: "text" }))[0]!.field).toBe("body");
  });

  it("never echoes a secret it refused", () => {
    const issues = issuesOf(() => validateRequest(route("login"), { path: {}, query: {}, body: { email: "a@b.c", password: "x".repeat(2000) } }));
    expect(issues[0]).toEqual({ field: "body.password", message: expect.stringMatching(/^expected/) });
    expect(JSON.stringify(issues)).not.toContain("xxxx");
  });

  it("refuses U+0000 in any string of a request, wherever it is, without echoing it", () => {
    const issues = issuesOf(() =>
      validateRequest(route("createKey"), { path: {}, query: {}, body: { name: "a\u0000b", role: "viewer", scopes: ["ok", "x\u0000"] } }),
    );
    expect(issues).toEqual([
      { field: "body.name", message: "text without NUL characters (U+0000)" },
      { field: "body.scopes[1]", message: "text without NUL characters (U+0000)" },
    ]);
    expect(issuesOf(() => validateRequest(route("login"), { path: {}, query: {}, body: { email: "a\u0000@b.c", password: "p" } }))[0]!.field).toBe("body.email");
    expect(issuesOf(() => validateRequest(route("getBudgets"), { path: {}, query: { principal: "\u0000" }, body: undefined }))[0]!.field).toBe("query.principal");
    expect(issuesOf(() => validateRequest(route("consult"), { path: {}, query: {}, body: { question: "why\u0000" } })).map((i) => i.field)).toContain("body.question");
  });

  it("reads groupBy as the names it lists, at most as many as there are dimensions", () => {
    const costs = (groupBy: string) => () => validateRequest(route("costSummary"), { path: {}, query: { groupBy }, body: undefined });
    expect(costs("day")()).toEqual({ groupBy: ["day"] });
    expect(costs(" provider ,model,  expert")()).toEqual({ groupBy: ["provider", "model", "expert"] });
    for (const bad of ["", "colour", "provider,,model", "provider,", "day,day,day,day,day,day", "provider\tmodel"]) {
      expect(issuesOf(costs(bad))[0]).toMatchObject({ field: "query.groupBy" });
    }
  });

  it("takes times from year 0002 to 9998 that are real dates, with a zone", () => {
    const from = (time: string) => () => validateRequest(route("costSummary"), { path: {}, query: { from: time }, body: undefined });
    for (const ok of ["2026-11-30T12:00:00Z", "2024-02-29T00:00:00.123+05:30", "0002-01-01T00:00:00Z", "0400-02-29T00:00:00Z", "9998-12-31T23:59:59-23:59"]) {
      expect(from(ok)()).toEqual({ from: ok });
    }
    // Year 0 and 10000 (after the offset) are times PostgreSQL refuses: they were 500s.
    for (const bad of ["0001-12-31T00:00:00Z", "0000-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-30T12:00:00", "2026-11-30", "٢٠٢٦-11-30T12:00:00Z"]) {
      expect(issuesOf(from(bad))[0]).toMatchObject({ field: "query.from", message: expect.stringMatching(/ISO 8601 time from year 0002 to 9998/) });
    }
  });

  it("takes key lifetimes that end before year 10000", () => {
    const key = (expiresIn: string) => () => validateRequest(route("createKey"), { path: {}, query: {}, body: { name: "k", role: "viewer", expiresIn } });
    for (const ok of ["30m", "12h", "90d", "1w", "999999d", "99999w"]) expect(key(ok)()).toMatchObject({ expiresIn: ok });
    for (const bad of ["0d", "07d", "100000w", "1y", "1 d", "٣d"]) expect(issuesOf(key(bad))[0]).toMatchObject({ field: "body.expiresIn" });
  });

  it("takes a cursor made of base64url characters only", () => {
    const list = (cursor: string) => () => validateRequest(route("listConsultations"), { path: {}, query: { cursor }, body: undefined });
    expect(list("WyIyMDI2Il0")()).toEqual({ cursor: "WyIyMDI2Il0" });
    for (const bad of ["", "a b", "x".repeat(201), "ab=="]) expect(issuesOf(list(bad))[0]).toMatchObject({ field: "query.cursor" });
  });

  it("takes a question that is not blank as String.prototype.trim sees it", () => {
    const consult = (question: string) => () => validateRequest(route("consult"), { path: {}, query: {}, body: { question } });
    for (const ok of ["Why?", "  why  ", "\u001c", "\u200bx"]) expect(consult(ok)()).toEqual({ question: ok });
    for (const blank of ["", " \t\n", "\u00a0\u3000\ufeff\u2028"]) expect(issuesOf(consult(blank))[0]).toMatchObject({ field: "body.question" });
  });
});
