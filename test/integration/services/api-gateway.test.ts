import jwt from "jsonwebtoken";
import OpenAI from "openai";
import { Client } from "pg";
import { loadSheddingOf } from "../../../mixins/load-shedding.middleware";
import { startNode, type CoreNode } from "../../../node";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { freePort } from "../../helpers/free-port";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { testRedisPrefix } from "../../helpers/redis-prefix";
import { uniqueName } from "../../helpers/unique";
import { waitFor } from "../../helpers/wait";

/**
 * The REST gateway over real HTTP, on two nodes that share NATS, PostgreSQL
 * and Redis: authentication (tokens, refresh families, API keys), RBAC,
 * rate limits shared across both gateways, the error contract and the audit
 * rows the edge writes.
 */

const namespace = uniqueName("gateway");
const pg = testSchema("gateway");
const redis = testRedisPrefix("gateway");
const SECRET = "gateway-test-secret-0123456789-abcdefghijklmnop";
const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" };
const VIEWER = { email: "viewer@example.com", password: "viewer password 123" };
const OPERATOR = { email: "operator@example.com", password: "operator password 123" };

let stub: ProviderStub;
let nodeA: CoreNode;
let nodeB: CoreNode;
let apiA: string;
let apiB: string;

type Json = Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown>; requestId?: string } };

async function request(base: string, method: string, path: string, init: { token?: string; apiKey?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.apiKey) headers["X-Api-Key"] = init.apiKey;
  if (init.body !== undefined || init.rawBody !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)) });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON: the assertions look at the status
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function login(who: { email: string; password: string }, base = apiA) {
  const res = await request(base, "POST", "/api/v1/auth/login", { body: who });
  expect(res.status).toBe(200);
  return res.json as { accessToken: string; refreshToken: string };
}

/** A token with the right shape, signed however the case needs. */
function token(claims: Record<string, unknown>, secret = SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ sub: "forger", roles: ["admin"], jti: "j1", iat: now, nbf: now, exp: now + 300, iss: "core", aud: "core-api", ...claims }, secret, {
    algorithm: "HS256",
  });
}

async function auditRows(action: string): Promise<Array<{ principal: string; outcome: string; source: string | null; request_id: string | null }>> {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT principal, outcome, source, request_id FROM "${pg.schema}".audit_log WHERE action = $1 ORDER BY seq`, [action]);
    return rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "test-key" });
  stub.always({ text: "Paris is the capital. Final answer: Paris" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "one", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") },
      { id: "two", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic") },
    ],
    rateLimits: {
      routes: {
        "GET /api/v1/budgets": { capacity: 4, refillPerSecond: 0.5 },
        "POST /api/v1/auth/logout": { capacity: 2, refillPerSecond: 0.25 },
      },
    },
  });
  const env = (nodeId: string, port: number) =>
    circleNodeEnv({
      namespace,
      pg,
      nodeId,
      configFile,
      apiKey: "test-key",
      redis,
      extra: { CORE_API_PORT: String(port), CORE_JWT_SECRET: SECRET, CORE_CORS_ORIGINS: "https://app.example.com" },
    });
  const [portA, portB] = [await freePort(), await freePort()];
  nodeA = await startNode({ env: env("gw-a", portA), services: ["api", "auth", "audit", "supervisor", "aggregator", "experts", "circle", "costs", "budgets", "mcp-gateway"] });
  nodeB = await startNode({ env: env("gw-b", portB), services: ["api", "auth", "openai"] });
  apiA = `http://127.0.0.1:${portA}`;
  apiB = `http://127.0.0.1:${portB}`;
  // In-cluster calls carry no principal: this is how `core users create` reaches a node.
  await nodeA.broker.call("auth.createUser", { ...ADMIN, role: "admin" });
  await nodeA.broker.call("auth.createUser", { ...VIEWER, role: "viewer" });
  await nodeA.broker.call("auth.createUser", { ...OPERATOR, role: "operator" });
  // Node B sees node A's services before the tests call through it.
  await nodeB.broker.waitForServices(["circle", "supervisor", "budgets"], 10_000);
}, 60_000);

afterAll(async () => {
  await nodeB?.stop();
  await nodeA?.stop();
  await stub?.close();
  await redis.clean();
  await pg.drop();
});

describe("authentication", () => {
  it("refuses a forged, expired, early, foreign or tampered token with 401, and takes a good one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const [header, payload] = token({}).split(".");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    const viewer = (await login(VIEWER)).accessToken;
    const [vh, vp, vs] = viewer.split(".");
    const elevated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(vp!, "base64url").toString()), roles: ["admin"] })).toString("base64url");
    const cases: Array<[string, string, string]> = [
      ["alg none", unsigned, "AUTH_INVALID_TOKEN"],
      ["wrong secret", token({}, "another-secret-of-sufficient-length-0123456789"), "AUTH_INVALID_TOKEN"],
      ["expired", token({ iat: now - 3600, nbf: now - 3600, exp: now - 60 }), "AUTH_TOKEN_EXPIRED"],
      ["not yet valid", token({ nbf: now + 600, exp: now + 900 }), "AUTH_INVALID_TOKEN"],
      ["other audience", token({ aud: "someone-else" }), "AUTH_INVALID_TOKEN"],
      ["tampered payload", `${vh}.${elevated}.${vs}`, "AUTH_INVALID_TOKEN"],
      ["garbage", `${header}.!!.x`, "AUTH_INVALID_TOKEN"],
    ];
    for (const [name, bad, code] of cases) {
      const res = await request(apiA, "GET", "/api/v1/experts", { token: bad });
      expect([name, res.status, res.json.error?.code]).toEqual([name, 401, code]);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="core"');
      expect(res.text).not.toContain(bad);
    }
    expect((await request(apiA, "GET", "/api/v1/experts", { token: token({}) })).status).toBe(200);
    const me = await request(apiB, "GET", "/api/v1/auth/me", { token: viewer });
    expect(me.json).toEqual({ id: expect.any(String), kind: "user", roles: ["viewer"] });
  });

  it("asks for credentials on a protected route, and says which with the error shape", async () => {
    const res = await request(apiA, "GET", "/api/v1/consultations", { headers: { "X-Request-Id": "req-auth-1" } });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: "AUTH_REQUIRED", message: expect.stringContaining("Authorization: Bearer"), requestId: "req-auth-1" } });
    expect(res.headers.get("x-request-id")).toBe("req-auth-1");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("rotates refresh tokens; a spent one presented again revokes its whole family", async () => {
    const first = await login(ADMIN);
    const second = await request(apiA, "POST", "/api/v1/auth/refresh", { body: { refreshToken: first.refreshToken } });
    expect(second.status).toBe(200);
    const next = second.json as { accessToken: string; refreshToken: string };
    expect(next.refreshToken).not.toBe(first.refreshToken);
    // The spent token again, through the other gateway: 401, and the family is gone.
    const reuse = await request(apiB, "POST", "/api/v1/auth/refresh", { body: { refreshToken: first.refreshToken } });
    expect([reuse.status, reuse.json.error?.code]).toEqual([401, "AUTH_REFRESH_REUSED"]);
    const afterReuse = await request(apiA, "POST", "/api/v1/auth/refresh", { body: { refreshToken: next.refreshToken } });
    expect(afterReuse.status).toBe(401);
    // Logging out revokes a family too.
    const other = await login(ADMIN);
    // (Signed in, so the logout draws on the admin's rate-limit bucket, not on this address's.)
    const loggedOut = await request(apiA, "POST", "/api/v1/auth/logout", { token: other.accessToken, body: { refreshToken: other.refreshToken } });
    expect(loggedOut.json).toEqual({ revoked: true });
    expect((await request(apiA, "POST", "/api/v1/auth/refresh", { body: { refreshToken: other.refreshToken } })).status).toBe(401);
    await waitFor(async () => (await auditRows("auth.refresh")).some((r) => r.outcome === "denied"), 5_000, "the refused refresh in the audit log");
  });

  it("creates an API key shown once, lets it in on every node, and shuts it out once revoked", async () => {
    const admin = (await login(ADMIN)).accessToken;
    const created = await request(apiA, "POST", "/api/v1/keys", { token: admin, body: { name: "ci", role: "viewer", expiresIn: "30d" } });
    expect(created.status).toBe(201);
    const { id, key } = created.json as { id: string; key: string };
    expect(key).toMatch(/^core_[0-9a-f]{16}_/);
    const listed = await request(apiB, "GET", "/api/v1/keys", { token: admin });
    expect(listed.text).not.toContain(key);
    expect((listed.json as unknown as Array<{ id: string }>).map((k) => k.id)).toContain(id);
    expect((await request(apiB, "GET", "/api/v1/experts", { apiKey: key })).status).toBe(200);
    expect((await request(apiA, "GET", "/api/v1/experts", { token: key })).status).toBe(200);
    // A viewer key cannot manage keys.
    expect((await request(apiA, "GET", "/api/v1/keys", { apiKey: key })).status).toBe(403);
    expect((await request(apiA, "DELETE", `/api/v1/keys/${id}`, { token: admin })).status).toBe(200);
    // Both nodes had the key's row cached (5 s): the revocation's broadcast makes them forget it well within a second.
    for (const base of [apiA, apiB]) {
      const res = await waitFor(async () => {
        const r = await request(base, "GET", "/api/v1/experts", { apiKey: key });
        return r.status === 401 ? r : undefined;
      }, 1_000, `the revoked key refused by ${base}`);
      expect(res.json.error?.code).toBe("AUTH_KEY_REVOKED");
    }
    expect((await auditRows("keys.create")).map((r) => r.outcome)).toEqual(["ok"]);
    expect((await auditRows("keys.revoke")).map((r) => r.outcome)).toEqual(["ok"]);
  });
});

describe("authorization", () => {
  it("forbids a viewer to consult (403) and lets an operator, auditing both at the edge", async () => {
    const viewer = await login(VIEWER);
    const denied = await request(apiB, "POST", "/api/v1/consult", { token: viewer.accessToken, body: { question: "Capital of France?" }, headers: { "X-Request-Id": "req-denied" } });
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({ code: "FORBIDDEN", details: { permission: "consult:run" }, requestId: "req-denied" });
    const operator = await login(OPERATOR);
    const ok = await request(apiB, "POST", "/api/v1/consult", { token: operator.accessToken, body: { question: "Capital of France?" } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: "completed", principal: expect.any(String), experts: ["one", "two"] });
    const rows = await waitFor(async () => ((await auditRows("circle.consult")).length >= 2 ? auditRows("circle.consult") : undefined), 5_000, "consult audit rows");
    expect(rows.map((r) => r.outcome)).toEqual(["denied", "ok"]);
    expect(rows[0]).toMatchObject({ source: "127.0.0.1", request_id: "req-denied" });
  });

  it("checks the permission where the action runs, whichever gateway took the request", async () => {
    const viewer = (await login(VIEWER, apiB)).accessToken;
    const res = await request(apiB, "POST", "/api/v1/actors/circle/restart", { token: viewer, body: {} });
    expect(res.status).toBe(403);
    expect(res.json.error?.message).toMatch(/lacks permission actors:restart for supervisor.restart/);
  });
});

describe("MCP tools over REST", () => {
  it("lists the tools a caller may call and calls one, refusing what its role does not allow", async () => {
    const viewer = (await login(VIEWER)).accessToken;
    const listed = await request(apiA, "GET", "/api/v1/mcp/tools", { token: viewer });
    expect(listed.status).toBe(200);
    const names = (listed.json.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain("core__experts");
    expect(names).not.toContain("core__consult");
    const called = await request(apiA, "POST", "/api/v1/mcp/tools/core/experts", { token: viewer, body: {} });
    expect(called.status).toBe(200);
    expect(JSON.stringify(called.json.content)).toContain("one");
    const refused = await request(apiA, "POST", "/api/v1/mcp/tools/core/consult", { token: viewer, body: { question: "Hi?" } });
    expect([refused.status, refused.json.error?.code]).toEqual([403, "FORBIDDEN"]);
  });
});

describe("the OpenAI-compatible endpoint", () => {
  it("gives the official openai client a consensus from core/circle and a streamed answer from core/<expert>", async () => {
    const { accessToken } = await login(OPERATOR, apiB);
    const client = new OpenAI({ baseURL: `${apiB}/v1`, apiKey: accessToken, maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["core/circle", "core/one", "core/two"]);
    const completion = await client.chat.completions.create({ model: "core/circle", messages: [{ role: "user", content: "Which city is the capital of France?" }] });
    expect(completion.choices[0]!.message.content).toContain("Paris");
    expect(completion.usage!.total_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ model: "core/one", messages: [{ role: "user", content: "Capital of France?" }], stream: true });
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe("Paris is the capital. Final answer: Paris");
    // A viewer may list the models but not ask them, in OpenAI's error shape.
    const viewer = new OpenAI({ baseURL: `${apiB}/v1`, apiKey: (await login(VIEWER, apiB)).accessToken, maxRetries: 0 });
    await expect(viewer.chat.completions.create({ model: "core/circle", messages: [{ role: "user", content: "Hi" }] })).rejects.toMatchObject({ status: 403, code: "FORBIDDEN" });
    await expect(new OpenAI({ baseURL: `${apiB}/v1`, apiKey: "not-a-token", maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
    await waitFor(async () => (await auditRows("openai.chatCompletions")).length >= 3 || undefined, 5_000, "openai audit rows");
  });
});

describe("rate limits", () => {
  it("share one bucket per principal across both gateways, answering 429 with Retry-After", async () => {
    const viewer = (await login(VIEWER)).accessToken;
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await request(i % 2 === 0 ? apiA : apiB, "GET", "/api/v1/budgets", { token: viewer });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(last!.json.error).toMatchObject({ code: "RATE_LIMITED", details: { retryAfterSec: 2 } });
    expect(last!.headers.get("retry-after")).toBe("2");
    expect(last!.headers.get("ratelimit-limit")).toBe("4");
    expect(last!.headers.get("ratelimit-remaining")).toBe("0");
    // Another principal has its own bucket.
    const admin = (await login(ADMIN)).accessToken;
    expect((await request(apiB, "GET", "/api/v1/budgets", { token: admin })).status).toBe(200);
    // After Retry-After the viewer gets through again.
    await new Promise((r) => setTimeout(r, 2_050));
    expect((await request(apiA, "GET", "/api/v1/budgets", { token: viewer })).status).toBe(200);
  });

  it("keys anonymous callers by address: a spoofed X-Forwarded-For from an untrusted peer changes nothing", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(i % 2 === 0 ? apiA : apiB, "POST", "/api/v1/auth/logout", { body: { refreshToken: "x".repeat(43) }, headers: { "X-Forwarded-For": `203.0.113.${i + 1}` } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe("the error contract and the documents", () => {
  it("answers 422 naming every failing field, 413 for a large body, 400 for broken JSON, 404 for unknown routes", async () => {
    const operator = (await login(OPERATOR)).accessToken;
    const invalid = await request(apiA, "POST", "/api/v1/consult", { token: operator, body: { question: "", temperature: 5, colour: "red" } });
    expect(invalid.status).toBe(422);
    expect(invalid.json.error?.code).toBe("VALIDATION_FAILED");
    const fields = (invalid.json.error!.details!.issues as Array<{ field: string }>).map((i) => i.field).sort();
    expect(fields).toEqual(["body.colour", "body.question", "body.temperature"]);
    const large = await request(apiA, "POST", "/api/v1/consult", { token: operator, rawBody: JSON.stringify({ question: "x".repeat(300_000) }) });
    expect([large.status, large.json.error?.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const broken = await request(apiA, "POST", "/api/v1/consult", { token: operator, rawBody: "{not json" });
    expect(broken.status).toBe(400);
    expect(broken.json.error?.code).toEqual(expect.any(String));
    const missing = await request(apiA, "GET", "/api/v1/nothing-here", { token: operator });
    expect([missing.status, missing.json.error?.code]).toEqual([404, "NOT_FOUND"]);
    const badId = await request(apiA, "GET", "/api/v1/consultations/not-a-uuid", { token: operator });
    expect([badId.status, (badId.json.error?.details?.issues as Array<{ field: string }>)[0]!.field]).toEqual([422, "path.id"]);
    for (const res of [invalid, large, broken, missing]) expect(res.text).not.toMatch(/\n\s+at /);
  });

  it("answers 503 with Retry-After when the node running the consult sheds load", async () => {
    const operator = (await login(OPERATOR)).accessToken;
    const shedding = loadSheddingOf(nodeA.broker);
    shedding.start({ usedRatio: 0.93, level: "critical", retryAfterSec: 7 });
    try {
      const refused = await request(apiA, "POST", "/api/v1/consult", { token: operator, body: { question: "Capital of France?" } });
      expect([refused.status, refused.json.error?.code, refused.headers.get("retry-after")]).toEqual([503, "MEMORY_PRESSURE", "7"]);
    } finally {
      shedding.stop();
    }
    const served = await request(apiA, "POST", "/api/v1/consult", { token: operator, body: { question: "Capital of France?" } });
    expect([served.status, served.headers.get("retry-after")]).toEqual([200, null]);
  });

  it("reports readiness of NATS, PostgreSQL, Redis and the supervision tree", async () => {
    const ready = await request(apiA, "GET", "/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({
      status: "ready",
      checks: {
        transporter: { ok: true, detail: "connected" },
        store: { ok: true },
        shared: { ok: true, critical: false },
        supervisor: { ok: true, critical: true, detail: expect.stringMatching(/^\d+\/\d+ actors running/) },
      },
    });
    // Node B runs no actors, so no supervisor: nothing to check there.
    expect(((await request(apiB, "GET", "/health/ready")).json.checks as Record<string, unknown>).supervisor).toBeUndefined();
  });

  it("serves the OpenAPI document and a reference page that loads it", async () => {
    const doc = await request(apiA, "GET", "/api/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.json).toMatchObject({ openapi: "3.1.0", paths: { "/api/v1/consult": { post: { operationId: "consult" } } } });
    const page = await request(apiA, "GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.text).toContain("/api/docs/swagger-ui-bundle.js");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect((await fetch(`${apiA}/api/docs/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${apiA}/api/docs/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it("answers CORS preflights for configured origins only", async () => {
    const allowed = await fetch(`${apiA}/api/v1/experts`, { method: "OPTIONS", headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "GET" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const other = await fetch(`${apiA}/api/v1/experts`, { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
