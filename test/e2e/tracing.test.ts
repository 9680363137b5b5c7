import { AccessTokens } from "../../lib/security/access-tokens";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";
import { ZipkinReceiver, type ZipkinSpan } from "../helpers/zipkin-receiver";

/**
 * One trace per consult across nodes: node A takes the REST request (api,
 * auth), node B runs the circle, the experts, the aggregator and writes the
 * consultation. Both send their spans (Zipkin v2 JSON, as to Jaeger's port
 * 9411) to a receiver in this test, which must end up with one connected
 * tree whose trace id is the reply's X-Trace-Id.
 */

const namespace = uniqueName("tracing");
const prefix = uniqueName("trace");
const pg = testSchema("tracing");
const SECRET = "tracing-test-secret-that-is-long-enough-0123456789";
const OPERATOR = `Bearer ${new AccessTokens({ secret: SECRET }).issue({ id: "ops-1", roles: ["operator"] }).token}`;
const ANSWER = "Water boils at 100 degrees Celsius at sea level. Final answer: 100";

let receiver: ZipkinReceiver;
let stub: ProviderStub;
let nodeA: CoreProcess;
let nodeB: CoreProcess;
let api: string;

function consult(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${api}/api/v1/consult`, { method: "POST", headers: { "content-type": "application/json", authorization: OPERATOR, ...headers }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  receiver = await ZipkinReceiver.start();
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ text: ANSWER });
  const configFile = writeCoreConfig({
    experts: [
      // claude falls back to gpt: a failed claude shows the fallback in the trace and writes a log line on node B.
      { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic"), fallback: ["gpt"] },
      { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") },
    ],
  });
  const apiPort = await freePort();
  const env = {
    CORE_CONFIG: configFile,
    CORE_SUBJECT_PREFIX: prefix,
    CORE_JWT_SECRET: SECRET,
    CORE_TRACING: "zipkin",
    CORE_TRACING_URL: receiver.url,
    CORE_TRACING_FLUSH_MS: "200",
    ANTHROPIC_API_KEY: "k",
    OPENAI_API_KEY: "k",
  };
  nodeA = await startClusterNode("trace-a", "api,auth,supervisor", { namespace, pg, env: { ...env, CORE_API_PORT: String(apiPort) }, noWait: true });
  nodeB = await startClusterNode("trace-b", "circle,experts,aggregator,costs,budgets", { namespace, pg, env, noWait: true });
  await Promise.all([nodeA.waitForOutput(/CORE node trace-a started/, 90_000), nodeB.waitForOutput(/CORE node trace-b started/, 90_000)]);
  api = `http://127.0.0.1:${apiPort}`;
  // A consults only once it has seen B's circle.
  await waitFor(async () => (await consult({ question: "Ready?", experts: ["gpt"] })).status === 200, 60_000, "a first consult through node A");
}, 180_000);

afterAll(async () => {
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await CoreProcess.killAll();
  await stub?.close();
  await receiver?.close();
  await pg.drop();
});

const ids = (spans: ZipkinSpan[]) => new Set(spans.map((s) => s.id));
const named = (spans: ZipkinSpan[], name: string) => spans.filter((s) => s.name === name);

describe("tracing across nodes", () => {
  it("a consult through REST on node A is one connected trace over both nodes, whose id is the reply's X-Trace-Id", async () => {
    // Claude's provider refuses once: claude's fallback (gpt) answers for it.
    stub.inject({ status: 400 }, { protocol: "anthropic" });
    const res = await consult({ question: "At what temperature does water boil?", experts: ["claude", "gpt"] }, { "X-Request-Id": "client-req-1" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; status: string };
    expect(body.status).toBe("completed");
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // The client's request id is its own, echoed; the trace id is CORE's.
    expect(res.headers.get("x-request-id")).toBe("client-req-1");

    const expected = [
      "POST /api/v1/consult",
      "action 'circle.consult'",
      "action 'expert.claude.ask'",
      "action 'expert.gpt.ask'",
      "anthropic completion",
      "openai completion",
      "action 'aggregator.aggregate'",
      "store.save consultation",
    ];
    const spans = await waitFor(
      () => {
        const trace = receiver.trace(traceId);
        return expected.every((name) => named(trace, name).length > 0) ? trace : undefined;
      },
      30_000,
      `the consult's spans (${expected.join(", ")})`,
    );

    // Exactly one root: the REST request on node A.
    const roots = spans.filter((s) => !s.parentId);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({ name: "POST /api/v1/consult", localEndpoint: { serviceName: "api" }, tags: expect.objectContaining({ nodeID: "trace-a" }) });
    // Connected: every other span's parent is a span of this trace.
    const all = ids(spans);
    for (const span of spans.filter((s) => s.parentId)) expect({ span: span.name, parentInTrace: all.has(span.parentId!) }).toEqual({ span: span.name, parentInTrace: true });
    // From both nodes: the REST request on A, the rest on B.
    expect(new Set(spans.map((s) => s.tags.nodeID))).toEqual(new Set(["trace-a", "trace-b"]));
    const byName = (name: string) => named(spans, name)[0]!;
    const parentOf = (span: ZipkinSpan) => spans.find((s) => s.id === span.parentId);
    expect(byName("action 'circle.consult'").tags).toMatchObject({ nodeID: "trace-b", callerNodeID: "trace-a", remoteCall: "true", principal: "ops-1", requestId: "client-req-1" });
    expect(parentOf(byName("action 'circle.consult'"))!.name).toBe("POST /api/v1/consult");
    for (const name of ["action 'expert.claude.ask'", "action 'aggregator.aggregate'", "store.save consultation"]) {
      expect({ name, parent: parentOf(byName(name))!.name }).toEqual({ name, parent: "action 'circle.consult'" });
    }
    // The store write: a CLIENT span to PostgreSQL naming the consultation.
    expect(byName("store.save consultation")).toMatchObject({ kind: "CLIENT", remoteEndpoint: { serviceName: "postgres" }, tags: expect.objectContaining({ consultation: body.id, status: "completed" }) });
    // Provider requests are CLIENT spans inside their expert's call; the refused one carries the error.
    const anthropic = byName("anthropic completion");
    expect(anthropic).toMatchObject({ kind: "CLIENT", remoteEndpoint: { serviceName: "anthropic" }, tags: expect.objectContaining({ model: "claude-sonnet-4-5", error: expect.any(String) }) });
    expect(parentOf(anthropic)!.name).toBe("action 'expert.claude.ask'");
    // gpt asked twice: by the circle, and by claude as its fallback.
    expect(named(spans, "action 'expert.gpt.ask'").map((s) => parentOf(s)!.name).sort()).toEqual(["action 'circle.consult'", "action 'expert.claude.ask'"]);
    // No secret leaves in a span: not the bearer token, not the provider key.
    expect(JSON.stringify(spans)).not.toContain(OPERATOR.slice(7, 40));

    // Node B's log line about the fallback carries the same trace id.
    await nodeB.waitForOutput(new RegExp(`trace=${traceId} expert\\.claude failed \\(.*\\); gpt answered in its place`), 10_000);
  });

  it("an error answer carries X-Trace-Id too, its trace reaches the receiver, and the gateway's error line names it", async () => {
    const res = await fetch(`${api}/api/v1/consult`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: "Anyone?" }) });
    expect(res.status).toBe(401);
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("AUTH_REQUIRED");
    // Without a client id, the request id is the trace id.
    expect(body.error.requestId).toBe(traceId);
    const [root] = await waitFor(() => (receiver.trace(traceId).length > 0 ? receiver.trace(traceId) : undefined), 15_000, "the refused request's span");
    expect(root).toMatchObject({ name: "POST /api/v1/consult", tags: expect.objectContaining({ nodeID: "trace-a", error: expect.any(String) }) });

    // A 5xx is logged by the gateway: its line names the request's trace.
    const failed = await fetch(`${api}/api/v1/mcp/tools`, { headers: { authorization: OPERATOR } });
    // (No node runs the MCP gateway here: the call fails on node A.)
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const failedTrace = failed.headers.get("x-trace-id")!;
    expect(failedTrace).toMatch(/^[0-9a-f]{32}$/);
    await nodeA.waitForOutput(new RegExp(`ERROR +API: trace=${failedTrace} Request GET /mcp/tools failed`), 10_000);
  });

  it("every HTTP answer names its own trace: two requests, two trace ids, even with the same X-Request-Id", async () => {
    const [a, b] = await Promise.all([fetch(`${api}/health/live`, { headers: { "X-Request-Id": "same" } }), fetch(`${api}/health/live`, { headers: { "X-Request-Id": "same" } })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    expect(b.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    expect(a.headers.get("x-trace-id")).not.toBe(b.headers.get("x-trace-id"));
    expect([a.headers.get("x-request-id"), b.headers.get("x-request-id")]).toEqual(["same", "same"]);
  });
});
