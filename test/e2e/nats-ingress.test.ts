import { randomUUID } from "node:crypto";
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from "nats";
import { Client } from "pg";
import type { Consultation } from "../../lib/circle/consultation";
import { AccessTokens } from "../../lib/security/access-tokens";
import { coreSubjects } from "../../lib/transport/subjects";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess, runCore, NODE_BIN } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { MCP_REFERENCE_SERVERS } from "../helpers/mcp-reference-servers";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * The NATS ingress as another system uses it: a plain nats.js client (not a
 * Moleculer node) requests `<prefix>.v1.*` from spawned `core start` nodes.
 * Node A runs the whole product (REST too, to compare answers); node B runs
 * the ingress alone, so requests it takes reach A's actors through the
 * cluster, and the two share the queue group.
 */

const namespace = uniqueName("nats_ingress");
const prefix = uniqueName("ingress");
const subjects = coreSubjects(prefix);
const pg = testSchema("nats_ingress");
const SECRET = "nats-ingress-test-secret-that-is-long-enough-0123456789";
const tokens = new AccessTokens({ secret: SECRET });
const OPERATOR = `Bearer ${tokens.issue({ id: "ops-1", roles: ["operator"] }).token}`;
const VIEWER = `Bearer ${tokens.issue({ id: "view-1", roles: ["viewer"] }).token}`;
const ANSWER = "Water boils at 100 degrees Celsius at sea level. Final answer: 100";

let stub: ProviderStub;
let nodeA: CoreProcess;
let nodeB: CoreProcess;
let apiA: string;
const metricsUrls: Record<"a" | "b", string> = { a: "", b: "" };
let nc: NatsConnection;

interface Reply {
  status: number;
  requestId: string | undefined;
  traceId: string | undefined;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: { issues?: Array<{ field: string }> }; requestId: string } };
}

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

function readReply(msg: Msg): Reply {
  return {
    status: Number(msg.headers?.get("Core-Status")),
    requestId: msg.headers?.get("Core-Request-Id") || undefined,
    traceId: msg.headers?.get("Core-Trace-Id") || undefined,
    body: JSON.parse(new TextDecoder().decode(msg.data)) as Reply["body"],
  };
}

/** One request/reply, as any NATS client makes it. */
async function request(subject: string, body: Uint8Array | unknown, headers: Record<string, string> = {}, timeout = 30_000): Promise<Reply> {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  const data = body instanceof Uint8Array ? body : body === undefined ? new Uint8Array(0) : json(body);
  return readReply(await nc.request(subject, data, { timeout, headers: h }));
}

/** A counter's value summed over the series whose labels hold every `labels` pair, from a node's /metrics. */
async function metric(node: "a" | "b", name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(metricsUrls[node])).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ text: ANSWER });
  const configFile = writeCoreConfig({
    experts: [
      { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic") },
      { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") },
    ],
    mcpServers: [{ name: "everything", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] }],
  });
  const [apiPort, metricsA, metricsB] = [await freePort(), await freePort(), await freePort()];
  const env = (metricsPort: number) => ({
    CORE_CONFIG: configFile,
    CORE_SUBJECT_PREFIX: prefix,
    CORE_JWT_SECRET: SECRET,
    CORE_METRICS: "true",
    CORE_METRICS_PORT: String(metricsPort),
    ANTHROPIC_API_KEY: "k",
    OPENAI_API_KEY: "k",
  });
  nodeA = await startClusterNode("ingress-a", "api,auth,audit,supervisor,aggregator,experts,circle,mcp,mcp-gateway,ingress", {
    namespace,
    pg,
    env: { ...env(metricsA), CORE_API_PORT: String(apiPort) },
    noWait: true,
  });
  nodeB = await startClusterNode("ingress-b", "ingress", { namespace, pg, env: env(metricsB), noWait: true });
  await Promise.all([nodeA.waitForOutput(/CORE node ingress-a started/, 90_000), nodeB.waitForOutput(/CORE node ingress-b started/, 90_000)]);
  apiA = `http://127.0.0.1:${apiPort}`;
  metricsUrls.a = `http://127.0.0.1:${metricsA}/metrics`;
  metricsUrls.b = `http://127.0.0.1:${metricsB}/metrics`;
  nc = await connect({ servers: NATS_URL, name: "plain-nats-client" });
  // B takes consults before it has seen A's circle: wait until the cluster has met, i.e. until each node
  // (the queue group picks one per request) has answered a consult with 200.
  const answered = (node: "a" | "b") => metric(node, "core_ingress_requests_total", { subject: subjects.consult, status: "200" });
  await waitFor(
    async () => {
      await request(subjects.consult, { question: "Ready?" }, { Authorization: OPERATOR });
      return (await answered("a")) > 0 && (await answered("b")) > 0;
    },
    60_000,
    "a consult answered over NATS by each node",
  );
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await CoreProcess.killAll();
  await stub?.close();
  await pg.drop();
});

describe("NATS ingress", () => {
  it("a plain nats.js client consults and gets what REST answers (same shape), with status, request and trace ids", async () => {
    const reply = await request(subjects.consult, { question: "At what temperature does water boil?", experts: ["claude", "gpt"], cache: false }, { Authorization: OPERATOR, "Core-Request-Id": "boil-1" });
    expect(reply).toMatchObject({ status: 200, requestId: "boil-1", traceId: expect.stringMatching(/\S{8,}/) });
    const c = reply.body as unknown as Consultation;
    expect(c.status).toBe("completed");
    expect(c.principal).toBe("ops-1");
    expect(c.outcomes.map((o) => [o.expertId, o.status])).toEqual([
      ["claude", "answered"],
      ["gpt", "answered"],
    ]);
    expect(c.consensus!.vote).toMatchObject({ answer: "100", share: 1 });

    const rest = await fetch(`${apiA}/api/v1/consult`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: OPERATOR },
      body: JSON.stringify({ question: "At what temperature does water boil?", experts: ["claude", "gpt"], cache: false }),
    });
    expect(rest.status).toBe(200);
    const viaRest = (await rest.json()) as Record<string, unknown>;
    expect(Object.keys(reply.body).sort()).toEqual(Object.keys(viaRest).sort());

    // Audited as REST audits consults, from "nats".
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    try {
      const row = await waitFor(async () => (await db.query(`SELECT principal, action, source, outcome FROM "${pg.schema}".audit_log WHERE request_id = 'boil-1'`)).rows[0], 15_000, "the audit row");
      expect(row).toEqual({ principal: "ops-1", action: "circle.consult", source: "nats", outcome: "ok" });
    } finally {
      await db.end();
    }
  });

  it("an API key in X-Api-Key works as over REST", async () => {
    const created = await runCore(["keys", "create", "--name", "nats-client", "--role", "operator", "--json"], {
      env: { NATS_URL, CORE_NAMESPACE: namespace, DATABASE_URL: pg.url, CORE_DB_SCHEMA: pg.schema, CORE_JWT_SECRET: SECRET },
    });
    expect({ code: created.code, output: created.output }).toMatchObject({ code: 0 });
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    const reply = await request(subjects.consult, { question: "Boiling point of water?", experts: ["gpt"] }, { "X-Api-Key": key });
    expect(reply.status).toBe(200);
    expect(reply.body.principal).toBe(id);
  });

  it("without credentials: 401; with a role lacking consult:run: 403; both in REST's error shape", async () => {
    const anonymous = await request(subjects.consult, { question: "Why?" }, { "Core-Request-Id": "anon-1" });
    expect(anonymous).toMatchObject({
      status: 401,
      requestId: "anon-1",
      body: { error: { code: "AUTH_REQUIRED", message: expect.stringMatching(/Authorization: Bearer/), requestId: "anon-1" } },
    });
    const forged = await request(subjects.consult, { question: "Why?" }, { Authorization: "Bearer not.a.token" });
    expect(forged.status).toBe(401);
    const viewer = await request(subjects.consult, { question: "Why?" }, { Authorization: VIEWER });
    expect(viewer).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: { permission: "consult:run" } } } });
  });

  it("experts.list answers what GET /api/v1/experts does; mcp.call calls a tool of a stdio MCP server", async () => {
    const experts = await request(subjects.expertsList, undefined, { Authorization: VIEWER });
    expect(experts.status).toBe(200);
    const rest = await fetch(`${apiA}/api/v1/experts`, { headers: { authorization: VIEWER } });
    expect(experts.body).toEqual(await rest.json());
    expect(JSON.stringify(experts.body)).toMatch(/"claude"/);

    // The MCP actor connects to its child while the node starts: call until the tool is there.
    const echo = await waitFor(
      async () => {
        const r = await request(subjects.mcpCall, { server: "everything", tool: "echo", arguments: { message: "over NATS" } }, { Authorization: OPERATOR });
        return r.status === 200 ? r : undefined;
      },
      60_000,
      "the echo tool",
    );
    expect(echo.body).toMatchObject({ content: [{ type: "text", text: "Echo: over NATS" }] });
    const unknown = await request(subjects.mcpCall, { server: "everything", tool: "no-such-tool" }, { Authorization: OPERATOR });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "MCP_TOOL_NOT_FOUND" } } });
    const refused = await request(subjects.mcpCall, { server: "everything", tool: "echo", arguments: { message: "x" } }, { Authorization: VIEWER });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    const invalid = await request(subjects.mcpCall, { server: "everything", tool: "echo", arguments: "x" }, { Authorization: OPERATOR });
    expect(invalid).toMatchObject({ status: 422, body: { error: { details: { issues: [{ field: "body.arguments" }] } } } });
  });

  it("1000 malformed messages: an error reply for each that has a reply subject, no more; the nodes live and answer", async () => {
    const inbox = `${prefix}.test-replies.${randomUUID()}`;
    const replies = new Map<string, number[]>();
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        const r = readReply(msg);
        replies.set(r.requestId ?? "?", [...(replies.get(r.requestId ?? "?") ?? []), r.status]);
      },
    });
    const oversized = json({ question: "x".repeat(300 * 1024) });
    const kinds = [
      { kind: "bad JSON", data: encoder.encode('{"question": "unterminated'), status: 400 },
      { kind: "not UTF-8", data: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), status: 400 },
      { kind: "wrong types", data: json({ question: 42, experts: "all" }), status: 422 },
      { kind: "unknown field", data: json({ question: "q", colour: "red" }), status: 422 },
      { kind: "oversized", data: oversized, status: 413 },
    ];
    const expected = new Map<string, number>();
    let dropped = 0;
    const droppedBefore = (await metric("a", "core_ingress_dropped_total", { reason: "no_reply_subject" })) + (await metric("b", "core_ingress_dropped_total", { reason: "no_reply_subject" }));
    for (let i = 0; i < 1000; i++) {
      // Oversized ones are rarer (each is 300 KB through NATS).
      const k = i % 10 === 9 ? kinds[4]! : kinds[i % 4]!;
      const id = `bad-${i}`;
      const h = natsHeaders();
      h.set("Core-Request-Id", id);
      h.set("Authorization", OPERATOR);
      const subject = i % 5 === 0 ? subjects.mcpCall : subjects.consult;
      if (i % 3 === 2) {
        // Published without a reply subject: nobody to answer.
        nc.publish(subject, k.data, { headers: h });
        dropped++;
      } else {
        nc.publish(subject, k.data, { headers: h, reply: inbox });
        expected.set(id, k.status);
      }
    }
    await nc.flush();
    await waitFor(() => replies.size >= expected.size, 60_000, `${expected.size} replies (have ${replies.size})`);
    // A moment more for any reply that should not come.
    await new Promise((r) => setTimeout(r, 1_000));
    sub.unsubscribe();
    expect(replies.size).toBe(expected.size);
    const wrong: string[] = [];
    for (const [id, statuses] of replies) {
      const want = expected.get(id);
      // Each answered once, with its error, or 503 if it came while the node was at its limit.
      if (statuses.length !== 1 || (statuses[0] !== want && statuses[0] !== 503)) wrong.push(`${id}: ${statuses.join(",")} (wanted ${want})`);
    }
    expect(wrong).toEqual([]);
    expect(dropped).toBe(333);
    await waitFor(
      async () =>
        (await metric("a", "core_ingress_dropped_total", { reason: "no_reply_subject" })) + (await metric("b", "core_ingress_dropped_total", { reason: "no_reply_subject" })) - droppedBefore === dropped,
      10_000,
      "the drops counted",
    );

    expect(nodeA.exitCode).toBeNull();
    expect(nodeB.exitCode).toBeNull();
    const good = await request(subjects.consult, { question: "Still there?", experts: ["claude"] }, { Authorization: OPERATOR });
    expect(good.status).toBe(200);
    expect(nodeA.output).not.toMatch(/could not be handled|Unhandled|\n\s+at .*ingress/);
    expect(nodeB.output).not.toMatch(/could not be handled|Unhandled|\n\s+at .*ingress/);
  });

  it("two nodes in the queue group share the requests, each answered once", async () => {
    const count = async (node: "a" | "b") => metric(node, "core_ingress_requests_total", { subject: subjects.expertsList, status: "200" });
    const before = { a: await count("a"), b: await count("b") };
    const inbox = `${prefix}.test-spread.${randomUUID()}`;
    const answers = new Map<string, number>();
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        const r = readReply(msg);
        if (r.status === 200 && r.requestId) answers.set(r.requestId, (answers.get(r.requestId) ?? 0) + 1);
      },
    });
    const N = 40;
    for (let i = 0; i < N; i++) {
      const h = natsHeaders();
      h.set("Authorization", VIEWER);
      h.set("Core-Request-Id", `spread-${i}`);
      nc.publish(subjects.expertsList, new Uint8Array(0), { headers: h, reply: inbox });
    }
    await nc.flush();
    await waitFor(() => answers.size === N, 30_000, `${N} answers`);
    await new Promise((r) => setTimeout(r, 500));
    sub.unsubscribe();
    expect([...answers.values()].every((n) => n === 1)).toBe(true);
    const served = await waitFor(
      async () => {
        const a = (await count("a")) - before.a;
        const b = (await count("b")) - before.b;
        return a + b === N ? { a, b } : undefined;
      },
      10_000,
      "both nodes' counters",
    );
    expect(served.a).toBeGreaterThan(0);
    expect(served.b).toBeGreaterThan(0);
  });

  it("a node that stops answers the requests it took before it leaves; the rest go to the node that stays", async () => {
    stub.reset();
    stub.always({ text: ANSWER, latencyMs: 1_500 });
    const sentAt = Date.now();
    const count = () => metric("a", "core_ingress_requests_total", { subject: subjects.consult, status: "200" });
    const before = await count();
    const inbox = `${prefix}.test-stop.${randomUUID()}`;
    const answers = new Map<string, number[]>();
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        const r = readReply(msg);
        answers.set(r.requestId ?? "?", [...(answers.get(r.requestId ?? "?") ?? []), r.status]);
      },
    });
    const N = 20;
    for (let i = 0; i < N; i++) {
      const h = natsHeaders();
      h.set("Authorization", OPERATOR);
      h.set("Core-Request-Id", `stop-${i}`);
      nc.publish(subjects.consult, json({ question: `Boiling point, take ${i}?`, experts: ["claude"], cache: false }), { headers: h, reply: inbox });
    }
    await nc.flush();
    // The experts take 1.5 s: B stops with its share of the consults in flight.
    await new Promise((r) => setTimeout(r, 300));
    const exited = nodeB.stop("SIGINT");
    await waitFor(() => answers.size === N, 40_000, `${N} answers (have ${answers.size})`);
    sub.unsubscribe();
    expect([...answers.entries()].filter(([, statuses]) => statuses.length !== 1 || statuses[0] !== 200)).toEqual([]);
    expect(Date.now() - sentAt).toBeGreaterThan(1_500);
    expect(await exited).toBe(0);
    // B answered some of them (A counted fewer than N).
    expect((await count()) - before).toBeLessThan(N);
  });
});
