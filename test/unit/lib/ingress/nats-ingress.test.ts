import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { AuthRequiredError, ForbiddenError, InvalidAccessTokenError } from "../../../../lib/errors";
import { TrustedProxies } from "../../../../lib/http/client-address";
import { RequestAdmission } from "../../../../lib/http/request-admission";
import { IngressMetrics, INGRESS_METRICS, type MetricRegistry } from "../../../../lib/ingress/ingress-metrics";
import type { IngressMessage } from "../../../../lib/ingress/ingress-message";
import { ingressRoutes } from "../../../../lib/ingress/ingress-routes";
import { NatsIngress, type IngressAuditEntry, type IngressCall } from "../../../../lib/ingress/nats-ingress";
import type { Logger } from "../../../../lib/logger";
import { RateLimiter, type RateLimitsConfig } from "../../../../lib/ratelimit/rate-limiter";
import type { AuthenticatedPrincipal } from "../../../../lib/security/principal";
import { coreSubjects } from "../../../../lib/transport/subjects";

const subjects = coreSubjects("core");
const OPERATOR: AuthenticatedPrincipal = { id: "u-1", kind: "user", roles: ["operator"] };
const encoder = new TextEncoder();

interface Sent {
  status: number;
  headers: Record<string, string>;
  body: { error?: { code: string; message: string; details?: Record<string, unknown>; requestId: string } } & Record<string, unknown>;
}

/** A message as nats.js would hand it over, recording what is answered. */
function message(subject: string, body: unknown, headers: Record<string, string> = { Authorization: "Bearer good" }, options: { reply?: string | undefined; raw?: Uint8Array; respond?: () => void } = {}) {
  const sent: Sent[] = [];
  const data = options.raw ?? (body === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(body)));
  const msg: IngressMessage = {
    subject,
    reply: "reply" in options ? options.reply : "_INBOX.1",
    data,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    respond(bytes, h) {
      options.respond?.();
      sent.push({ status: Number(h["Core-Status"]), headers: { ...h }, body: JSON.parse(new TextDecoder().decode(bytes)) as Sent["body"] });
    },
  };
  return { msg, sent };
}

class FakeRegistry implements MetricRegistry {
  readonly defined = new Map<string, string[]>();
  readonly counts: Array<[string, Record<string, string>]> = [];
  readonly observed: Array<[string, number, Record<string, string>]> = [];
  getMetric(name: string) {
    return this.defined.get(name);
  }
  register(d: { name: string; labelNames: string[] }) {
    this.defined.set(d.name, d.labelNames);
    return d;
  }
  increment(name: string, labels: Record<string, string>) {
    this.counts.push([name, labels]);
  }
  observe(name: string, value: number, labels: Record<string, string>) {
    this.observed.push([name, value, labels]);
  }
}

function logger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, warn: (m: unknown) => void warnings.push(String(m)), error: (m: unknown) => void errors.push(String(m)), info() {}, debug() {} };
}

interface Setup {
  call?: (action: string, params: Record<string, unknown>, call: IngressCall) => Promise<unknown>;
  maxInFlight?: number;
  maxBytes?: number;
  rateLimits?: RateLimitsConfig;
  now?: () => number;
}

function setup(o: Setup = {}) {
  const calls: Array<{ action: string; params: Record<string, unknown>; call: IngressCall }> = [];
  const audits: IngressAuditEntry[] = [];
  const authenticated: Array<string | undefined> = [];
  const log = logger();
  const registry = new FakeRegistry();
  let trace = 0;
  const authenticate = async (credential: string | undefined): Promise<AuthenticatedPrincipal> => {
    authenticated.push(credential);
    if (!credential) throw new AuthRequiredError("Authentication required");
    if (credential === "Bearer good") return OPERATOR;
    if (credential === "core_k1_secret") return { id: "k1", kind: "key", roles: ["viewer"] };
    throw new InvalidAccessTokenError("The access token is not valid");
  };
  const limiter = o.rateLimits ? new RateLimiter(o.rateLimits, new MemorySharedStore()) : undefined;
  const ingress = new NatsIngress({
    routes: ingressRoutes(subjects),
    admission: new RequestAdmission(authenticate, limiter, new TrustedProxies([]), log),
    backend: {
      call: async (action, params, call) => {
        calls.push({ action, params, call });
        return o.call ? o.call(action, params, call) : { action, echoed: params };
      },
    },
    logger: log,
    maxInFlight: o.maxInFlight ?? 100,
    ...(o.maxBytes ? { maxBytes: o.maxBytes } : {}),
    newTraceId: () => `trace-${++trace}`,
    observer: new IngressMetrics(registry),
    audit: (e) => audits.push(e),
    ...(o.now ? { now: o.now } : {}),
  });
  return { ingress, calls, audits, authenticated, log, registry };
}

describe("NatsIngress", () => {
  it("answers a consult with the action's result, status 200 and the request and trace ids; the call carries the principal and the consult's deadline", async () => {
    const { ingress, calls, audits } = setup();
    const { msg, sent } = message(subjects.consult, { question: "Why?" });
    await ingress.serve(msg);
    expect(sent).toEqual([
      { status: 200, headers: { "Core-Status": "200", "Core-Request-Id": "trace-1", "Core-Trace-Id": "trace-1" }, body: { action: "circle.consult", echoed: { question: "Why?" } } },
    ]);
    expect(calls).toEqual([{ action: "circle.consult", params: { question: "Why?" }, call: { principal: OPERATOR, requestId: "trace-1", traceId: "trace-1", timeoutMs: 60_000 } }]);
    expect(audits).toEqual([{ action: "circle.consult", principal: "u-1", requestId: "trace-1" }]);
  });

  it("takes the client's Core-Request-Id and Core-Timeout-Ms, and credentials from X-Api-Key, headers named in any case", async () => {
    const { ingress, calls } = setup();
    const { msg, sent } = message(subjects.expertsList, undefined, { "x-api-key": "core_k1_secret", "core-request-id": "job-7", "CORE-TIMEOUT-MS": "1500" });
    await ingress.serve(msg);
    expect(sent[0]).toMatchObject({ status: 200, headers: { "Core-Request-Id": "job-7", "Core-Trace-Id": "trace-1" } });
    expect(calls[0]).toMatchObject({ action: "circle.experts", params: {}, call: { principal: { id: "k1" }, requestId: "job-7", timeoutMs: 1500 } });
  });

  it("mcp.call: the tool's server, name and arguments go to mcp-gateway.call", async () => {
    const { ingress, calls, audits } = setup();
    const { msg, sent } = message(subjects.mcpCall, { server: "everything", tool: "echo", arguments: { message: "hi" } });
    await ingress.serve(msg);
    expect(sent[0]!.status).toBe(200);
    expect(calls[0]).toMatchObject({ action: "mcp-gateway.call", params: { server: "everything", tool: "echo", arguments: { message: "hi" } }, call: { timeoutMs: undefined } });
    // The gateway audits tool calls itself.
    expect(audits).toEqual([]);
  });

  it("without credentials: 401 in REST's error shape, no call; the refusal is audited", async () => {
    const { ingress, calls, audits } = setup();
    const { msg, sent } = message(subjects.consult, { question: "Why?" }, {});
    await ingress.serve(msg);
    expect(sent).toEqual([
      {
        status: 401,
        headers: { "Core-Status": "401", "Core-Request-Id": "trace-1", "Core-Trace-Id": "trace-1" },
        body: { error: { code: "AUTH_REQUIRED", message: "Authentication required", requestId: "trace-1" } },
      },
    ]);
    expect(calls).toEqual([]);
    expect(audits).toEqual([{ action: "circle.consult", principal: undefined, requestId: "trace-1", error: expect.objectContaining({ status: 401 }) }]);
  });

  it("a bad credential is 401 too", async () => {
    const { ingress } = setup();
    const { msg, sent } = message(subjects.consult, { question: "Why?" }, { Authorization: "Bearer forged" });
    await ingress.serve(msg);
    expect(sent[0]).toMatchObject({ status: 401, body: { error: { code: "AUTH_INVALID_TOKEN" } } });
  });

  it("a permission the action refuses comes back as 403 with its details", async () => {
    const { ingress } = setup({
      call: () => Promise.reject(new ForbiddenError("u-1 (role viewer) lacks permission consult:run for circle.consult", { data: { action: "circle.consult", permission: "consult:run" } })),
    });
    const { msg, sent } = message(subjects.consult, { question: "Why?" });
    await ingress.serve(msg);
    expect(sent[0]).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: { permission: "consult:run" }, requestId: "trace-1" } } });
  });

  it("malformed messages: 413 unread, 400 for non-JSON, 422 naming the field; none reaches an action, none is authenticated before it is read", async () => {
    const { ingress, calls, authenticated, audits } = setup({ maxBytes: 1024 });
    const big = message(subjects.consult, { question: "x".repeat(2000) });
    const notJson = message(subjects.consult, undefined, undefined, { raw: encoder.encode("{question: 1") });
    const wrong = message(subjects.consult, { question: 42 });
    const unknown = message(subjects.consult, { question: "q", colour: "red" });
    const badTimeout = message(subjects.consult, { question: "q" }, { Authorization: "Bearer good", "Core-Timeout-Ms": "forever" });
    for (const m of [big, notJson, wrong, unknown, badTimeout]) await ingress.serve(m.msg);
    expect(big.sent[0]).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", details: { limit: 1024 } } } });
    expect(notJson.sent[0]).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect(wrong.sent[0]).toMatchObject({ status: 422, body: { error: { code: "VALIDATION_FAILED", message: "Invalid request to core.v1.consult", details: { issues: [{ field: "body.question" }] } } } });
    expect(unknown.sent[0]).toMatchObject({ status: 422, body: { error: { details: { issues: [{ field: "body.colour" }] } } } });
    expect(badTimeout.sent[0]).toMatchObject({ status: 422, body: { error: { details: { issues: [{ field: "headers.Core-Timeout-Ms" }] } } } });
    expect(calls).toEqual([]);
    // Only the three that were read as JSON got as far as admission (REST audits from there on too).
    expect(authenticated).toHaveLength(3);
    expect(audits.map((a) => a.error?.status)).toEqual([422, 422, 422]);
  });

  it("a message without a reply subject is counted and dropped, the warning said once a minute", async () => {
    let now = 0;
    const { ingress, calls, log, registry } = setup({ now: () => now });
    const published = () => message(subjects.consult, { question: "q" }, undefined, { reply: undefined });
    for (let i = 0; i < 5; i++) await ingress.serve(published().msg);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/1 message\(s\) dropped unanswered .*core\.v1\.consult, published without a reply subject/);
    now += 60_000;
    await ingress.serve(published().msg);
    expect(log.warnings).toHaveLength(2);
    expect(log.warnings[1]).toMatch(/^NATS ingress: 5 message\(s\) dropped/);
    expect(calls).toEqual([]);
    expect(registry.counts.filter(([name]) => name === INGRESS_METRICS.dropped)).toHaveLength(6);
    expect(registry.counts.find(([name]) => name === INGRESS_METRICS.dropped)![1]).toEqual({ reason: "no_reply_subject" });
  });

  it("an answer that cannot be published is counted, not thrown", async () => {
    const { ingress, registry, log } = setup();
    const { msg } = message(subjects.expertsList, undefined, undefined, {
      respond: () => {
        throw new Error("connection closed");
      },
    });
    await expect(ingress.serve(msg)).resolves.toBeUndefined();
    expect(registry.counts).toEqual([[INGRESS_METRICS.dropped, { reason: "reply_failed" }]]);
    expect(log.warnings[0]).toMatch(/the answer could not be published: connection closed/);
  });

  it("an unexpected failure is a 500 without its detail; a result JSON cannot hold too", async () => {
    const failing = setup({ call: () => Promise.reject(new TypeError("x is undefined at secret.ts:12")) });
    const a = message(subjects.consult, { question: "q" });
    await failing.ingress.serve(a.msg);
    expect(a.sent[0]).toEqual({ status: 500, headers: expect.any(Object), body: { error: { code: "INTERNAL", message: "Internal error", requestId: "trace-1" } } });
    expect(failing.log.errors[0]).toMatch(/NATS core\.v1\.consult failed/);

    const bigint = setup({ call: async () => ({ n: 1n }) });
    const b = message(subjects.consult, { question: "q" });
    await bigint.ingress.serve(b.msg);
    expect(b.sent[0]).toMatchObject({ status: 500, body: { error: { code: "INTERNAL" } } });
  });

  it("handles messages concurrently, at most maxInFlight at once: the excess is answered 503 OVERLOADED at once", async () => {
    const release: Array<() => void> = [];
    const { ingress, calls } = setup({ maxInFlight: 2, call: () => new Promise((resolve) => release.push(() => resolve({ ok: true }))) });
    const msgs = [0, 1, 2].map(() => message(subjects.consult, { question: "q" }));
    for (const m of msgs) ingress.dispatch(m.msg);
    // The third is refused while the first two wait on their calls (both in flight: not serialized).
    await new Promise((r) => setImmediate(r));
    expect(ingress.inFlight).toBe(2);
    expect(msgs[2]!.sent).toEqual([
      expect.objectContaining({ status: 503, body: { error: { code: "OVERLOADED", message: expect.stringMatching(/handling 2 NATS requests/), details: { limit: 2 }, requestId: "trace-3" } } }),
    ]);
    for (let i = 0; i < 50 && calls.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2);
    const idle = ingress.idle(5_000);
    release.forEach((r) => r());
    await expect(idle).resolves.toBe(true);
    expect(msgs.map((m) => m.sent.map((s) => s.status))).toEqual([[200], [200], [503]]);
    // Room again.
    const later = message(subjects.consult, { question: "q" });
    ingress.dispatch(later.msg);
    release.splice(0);
    for (let i = 0; i < 50 && release.length === 0; i++) await new Promise((r) => setImmediate(r));
    release[0]!();
    await ingress.idle(5_000);
    expect(later.sent[0]!.status).toBe(200);
  });

  it("idle(timeout) says false when a call outlives it", async () => {
    const { ingress } = setup({ call: () => new Promise(() => undefined) });
    ingress.dispatch(message(subjects.consult, { question: "q" }).msg);
    await new Promise((r) => setImmediate(r));
    await expect(ingress.idle(20)).resolves.toBe(false);
  });

  it("rate limits are REST's: the POST /api/v1/consult bucket holds over NATS too (429 with Retry-After)", async () => {
    const { ingress } = setup({ rateLimits: { routes: { "POST /api/v1/consult": { capacity: 1, refillPerSecond: 0.001 } } } });
    const first = message(subjects.consult, { question: "q" });
    const second = message(subjects.consult, { question: "q" });
    const other = message(subjects.expertsList, undefined);
    for (const m of [first, second, other]) await ingress.serve(m.msg);
    expect(first.sent[0]).toMatchObject({ status: 200, headers: { "RateLimit-Limit": "1", "RateLimit-Remaining": "0" } });
    expect(second.sent[0]).toMatchObject({ status: 429, headers: { "Retry-After": expect.stringMatching(/^\d+$/) }, body: { error: { code: "RATE_LIMITED" } } });
    expect(other.sent[0]!.status).toBe(200);
  });

  it("no WWW-Authenticate (an HTTP header) in a NATS answer", async () => {
    const { ingress } = setup();
    const { msg, sent } = message(subjects.consult, { question: "q" }, {});
    await ingress.serve(msg);
    expect(Object.keys(sent[0]!.headers).sort()).toEqual(["Core-Request-Id", "Core-Status", "Core-Trace-Id"]);
  });

  it("metrics: each answer by subject and status, with its duration", async () => {
    let now = 1_000;
    const { ingress, registry } = setup({
      now: () => now,
      call: async () => {
        now += 250;
        return {};
      },
    });
    expect([...registry.defined.keys()]).toEqual([INGRESS_METRICS.requests, INGRESS_METRICS.duration, INGRESS_METRICS.dropped]);
    await ingress.serve(message(subjects.consult, { question: "q" }).msg);
    await ingress.serve(message(subjects.consult, { question: 1 }).msg);
    expect(registry.counts).toEqual([
      [INGRESS_METRICS.requests, { subject: "core.v1.consult", status: "200" }],
      [INGRESS_METRICS.requests, { subject: "core.v1.consult", status: "422" }],
    ]);
    expect(registry.observed).toEqual([
      [INGRESS_METRICS.duration, 0.25, { subject: "core.v1.consult", status: "200" }],
      [INGRESS_METRICS.duration, 0, { subject: "core.v1.consult", status: "422" }],
    ]);
    // A second registration on the same registry (a service restarted) reuses the metrics.
    new IngressMetrics(registry);
    expect(registry.defined.size).toBe(3);
  });
});
