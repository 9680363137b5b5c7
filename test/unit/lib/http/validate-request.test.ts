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
});
