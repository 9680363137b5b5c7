import { z } from "zod";
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

  /** Every string schema under `node`, with where it is. */
  const strings = (node: unknown, at = ""): Array<[string, Record<string, unknown>]> => {
    if (Array.isArray(node)) return node.flatMap((item, i) => strings(item, `${at}[${i}]`));
    if (typeof node !== "object" || node === null) return [];
    const schema = node as Record<string, unknown>;
    const own: Array<[string, Record<string, unknown>]> = schema.type === "string" && !("enum" in schema) && !("const" in schema) ? [[at, schema]] : [];
    return [...own, ...Object.entries(schema).flatMap(([key, value]) => strings(value, `${at}.${key}`))];
  };
  const requestStrings = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods as Record<string, Operation>).flatMap(([method, o]) => strings({ parameters: o.parameters, body: o.requestBody }, `${method} ${path}`)),
  );

  it("says of every request string that it holds no U+0000, which the validation refuses", () => {
    expect(requestStrings.length).toBeGreaterThan(15);
    for (const [at, schema] of requestStrings) {
      const patterns = [schema.pattern, ...((schema.allOf as Array<{ pattern?: string }> | undefined) ?? []).map((s) => s.pattern)].filter((p): p is string => typeof p === "string");
      // Some pattern of each refuses a string with U+0000 that the others would take.
      const refusesNul = patterns.some((p) => !new RegExp(p, "u").test(`${"a".repeat(8)}\u0000`) && !new RegExp(p, "u").test("\u0000"));
      expect({ at, refusesNul }).toEqual({ at, refusesNul: true });
    }
    // A pattern that cannot match U+0000 stands alone; one that can gets the rule beside it.
    const systemPrompt = (op("/api/v1/consult", "post").requestBody!.content["application/json"].schema.properties.system as Record<string, unknown>);
    expect(systemPrompt).toMatchObject({ type: "string", pattern: "^[^\\u0000]*$" });
    const keyId = op("/api/v1/keys/{id}", "delete").parameters[0]!.schema;
    expect(keyId).toEqual({ type: "string", pattern: "^[a-z0-9]{4,64}$" });
  });

  it("writes its patterns so every JSON Schema validator reads them alike ([0-9], not \\d)", () => {
    for (const [at, schema] of requestStrings) expect({ at, pattern: schema.pattern }).not.toEqual({ at, pattern: expect.stringMatching(/\\[dDsSwW]/) });
  });

  it("names the cursor's format and shows one, and the times' format", () => {
    const list = op("/api/v1/consultations", "get").parameters;
    const cursor = list.find((p) => p.name === "cursor")!.schema;
    expect(cursor).toMatchObject({ format: "consultation-cursor", examples: [expect.stringMatching(/^[A-Za-z0-9_-]+$/)] });
    const [at, id] = JSON.parse(Buffer.from((cursor.examples as string[])[0]!, "base64url").toString("utf8")) as [string, string];
    expect(new Date(at).toISOString()).toBe(at);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(list.find((p) => p.name === "from")!.schema).toMatchObject({ format: "date-time" });
  });

  it("documents an API key as it is answered: absent, not null, while it has no expiry, use or revocation", () => {
    const key = op("/api/v1/keys/{id}", "delete").responses["200"]!.content["application/json"].schema as { required: string[]; properties: Record<string, unknown> };
    expect(key.required).toEqual(expect.arrayContaining(["id", "name", "role", "scopes", "createdBy", "createdAt"]));
    expect(key.required).not.toEqual(expect.arrayContaining(["expiresAt"]));
    expect(key.properties.lastUsedAt).toEqual({ type: "string" });
  });

  it("adds the U+0000 rule beside a pattern that could match it, and only there", () => {
    const body = z.strictObject({
      plain: z.string(),
      anywhere: z.string().regex(/x/),
      negated: z.string().regex(/^[^y]+$/),
      dot: z.string().regex(/^a.b$/),
      either: z.string().regex(/^a|b$/),
      spaces: z.string().regex(/^\S+$/),
      named: z.string().regex(/^(?:ab|c[0-9]+)\.x$/),
      // eslint-disable-next-line no-control-regex -- a class that excludes U+0000
      negatedWithoutNul: z.string().regex(/^[^y\u0000]+$/),
      choice: z.enum(["a", "b"]),
    });
    const custom = buildOpenApiDocument({
      routes: [{ method: "POST", path: "/t", action: "t.t", permission: null, operationId: "t", summary: "t", tag: "t", body, response: z.object({}) }],
      basePath: "",
      version: "0",
    });
    const schema = (custom.paths["/t"] as Record<string, Operation>).post!.requestBody!.content["application/json"].schema.properties as Record<string, Record<string, unknown>>;
    const rule = [{ pattern: "^[^\\u0000]*$" }];
    expect(schema.plain).toEqual({ type: "string", pattern: "^[^\\u0000]*$" });
    for (const name of ["anywhere", "negated", "dot", "either", "spaces"]) expect({ name, allOf: schema[name]!.allOf }).toEqual({ name, allOf: rule });
    for (const name of ["named", "negatedWithoutNul", "choice"]) expect({ name, allOf: schema[name]!.allOf }).toEqual({ name, allOf: undefined });
    expect(schema.choice).toEqual({ type: "string", enum: ["a", "b"] });
  });
});
