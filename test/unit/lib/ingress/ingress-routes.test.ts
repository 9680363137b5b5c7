import { ValidationError } from "../../../../lib/errors";
import { API_ROUTES } from "../../../../lib/http/api-routes";
import { validateRequest } from "../../../../lib/http/validate-request";
import { ingressRoutes, type IngressRoute } from "../../../../lib/ingress/ingress-routes";
import { coreSubjects } from "../../../../lib/transport/subjects";

const routes = ingressRoutes(coreSubjects("core"));
const bySubject = (subject: string): IngressRoute => routes.find((r) => r.subject === subject)!;
const consult = bySubject("core.v1.consult");
const experts = bySubject("core.v1.experts.list");
const mcpCall = bySubject("core.v1.mcp.call");

/** The outcome of a validation: the parameters, or the failing fields. */
function outcome(fn: () => Record<string, unknown>): { params: Record<string, unknown> } | { fields: string[]; message: string } {
  try {
    return { params: fn() };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { fields: err.issues.map((i) => i.field).sort(), message: err.message };
  }
}

describe("ingress routes", () => {
  it("serve the three request/reply subjects, each calling what its REST route calls", () => {
    expect(routes.map((r) => [r.subject, r.action, `${r.rest.method} ${r.rest.path}`])).toEqual([
      ["core.v1.consult", "circle.consult", "POST /consult"],
      ["core.v1.experts.list", "circle.experts", "GET /experts"],
      ["core.v1.mcp.call", "mcp-gateway.call", "POST /mcp/tools/:server/:tool"],
    ]);
    expect(ingressRoutes(coreSubjects("t-x")).map((r) => r.subject)).toEqual(["t-x.v1.consult", "t-x.v1.experts.list", "t-x.v1.mcp.call"]);
    expect(routes.filter((r) => r.audited).map((r) => r.action)).toEqual(["circle.consult"]);
  });

  it("a consult body is accepted or refused exactly as REST's POST /api/v1/consult body", () => {
    const rest = API_ROUTES.find((r) => r.operationId === "consult")!;
    const bodies: unknown[] = [
      { question: "Why?" },
      { question: "Why?", experts: ["a", "b"], minResponses: 1, timeoutMs: 5000, temperature: 0.2, cache: false },
      { question: 42 },
      { question: "   " },
      { question: "nul\u0000here" },
      { question: "Why?", colour: "red" },
      { question: "Why?", experts: [] },
      { question: "Why?", timeoutMs: 50 },
      { question: "x".repeat(32_001) },
      [1, 2],
      "question",
      null,
      undefined,
      {},
    ];
    for (const body of bodies) {
      const nats = outcome(() => consult.toParams(body));
      const http = outcome(() => validateRequest(rest, { path: {}, query: {}, body }));
      if ("params" in http) expect(nats).toEqual(http);
      else expect(nats).toEqual({ fields: http.fields, message: "Invalid request to core.v1.consult" });
    }
  });

  it("names the failing field of a wrong type (422)", () => {
    expect(outcome(() => consult.toParams({ question: 42, experts: "all" }))).toEqual({ fields: ["body.experts", "body.question"], message: "Invalid request to core.v1.consult" });
  });

  it("experts.list takes no body (empty or {}), as GET /api/v1/experts", () => {
    expect(experts.toParams(undefined)).toEqual({});
    expect(experts.toParams({})).toEqual({});
    expect(outcome(() => experts.toParams({ all: true }))).toEqual({ fields: ["body"], message: "Invalid request to core.v1.experts.list" });
  });

  it("mcp.call takes server, tool and arguments in one body, validated by REST's schemas", () => {
    expect(mcpCall.toParams({ server: "everything", tool: "echo", arguments: { message: "hi" } })).toEqual({ server: "everything", tool: "echo", arguments: { message: "hi" } });
    expect(mcpCall.toParams({ server: "core", tool: "list_experts" })).toEqual({ server: "core", tool: "list_experts", arguments: {} });
    expect(outcome(() => mcpCall.toParams({ server: "Bad Name!", tool: "", arguments: [1], extra: 1 }))).toEqual({
      fields: ["body.arguments", "body.extra", "body.server", "body.tool"],
      message: "Invalid request to core.v1.mcp.call",
    });
    expect(outcome(() => mcpCall.toParams(undefined))).toMatchObject({ fields: ["body"] });
  });

  it("a consult's call deadline defaults to the consult's own; the others to the action's default", () => {
    expect(consult.defaultTimeoutMs({ question: "q" })).toBe(60_000);
    expect(consult.defaultTimeoutMs({ question: "q", timeoutMs: 5_000 })).toBe(5_000);
    expect(experts.defaultTimeoutMs({})).toBeUndefined();
    expect(mcpCall.defaultTimeoutMs({ server: "a", tool: "b", arguments: {} })).toBeUndefined();
  });
});
