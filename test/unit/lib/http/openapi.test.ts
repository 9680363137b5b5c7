import { API_ROUTES } from "../../../../lib/http/api-routes";
import { buildOpenApiDocument } from "../../../../lib/http/openapi";

type Operation = {
  operationId: string;
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { required: boolean; content: { "application/json": { schema: { required?: string[]; properties: Record<string, unknown> } } } };
  responses: Record<string, { content: { "application/json": { schema: Record<string, unknown> } } }>;
  security?: unknown[];
};

describe("buildOpenApiDocument", () => {
  const doc = buildOpenApiDocument({
    routes: API_ROUTES,
    basePath: "/api/v1",
    version: "1.2.3",
    extra: [{ method: "get", path: "/health/live", operation: { operationId: "live", responses: { "200": { description: "Live" } } } }],
  });
  const op = (path: string, method: string) => (doc.paths[path] as Record<string, Operation>)[method]!;

  it("describes every route once, with OpenAPI path templates", () => {
    expect(doc.openapi).toBe("3.1.0");
    const ids = Object.values(doc.paths).flatMap((methods) => Object.values(methods as Record<string, Operation>).map((o) => o.operationId));
    expect(ids).toHaveLength(API_ROUTES.length + 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(op("/api/v1/consultations/{id}", "get").parameters).toEqual([
      expect.objectContaining({ name: "id", in: "path", required: true, schema: expect.objectContaining({ format: "uuid" }) }),
    ]);
    expect(op("/health/live", "get").operationId).toBe("live");
  });

  it("documents the request schemas that validate the requests", () => {
    const consult = op("/api/v1/consult", "post");
    expect(consult.requestBody!.required).toBe(true);
    const body = consult.requestBody!.content["application/json"].schema;
    expect(body.required).toEqual(["question"]);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["question", "experts", "timeoutMs", "cache"]));
    expect(body).toMatchObject({ additionalProperties: false });
    const list = op("/api/v1/consultations", "get").parameters;
    expect(list.find((p) => p.name === "limit")).toMatchObject({ in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 200 } });
    // An optional body may be left out.
    expect(op("/api/v1/actors/{name}/restart", "post").requestBody!.required).toBe(false);
  });

  it("gives every operation the error shape, and opens the login routes to anonymous callers", () => {
    for (const methods of Object.values(doc.paths)) {
      for (const operation of Object.values(methods as Record<string, Operation>)) {
        if (operation.operationId === "live") continue;
        expect(operation.responses.default!.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
      }
    }
    expect(op("/api/v1/auth/login", "post").security).toEqual([]);
    expect(op("/api/v1/consult", "post").security).toBeUndefined();
    expect(op("/api/v1/consult", "post").responses["403"]).toBeDefined();
    expect(op("/api/v1/keys", "post").responses["201"]).toBeDefined();
  });
});
