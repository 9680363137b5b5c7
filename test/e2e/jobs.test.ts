import { Client } from "pg";
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from "nats";
import { startClusterNode } from "../helpers/cluster-node";
import { writeCoreConfig } from "../helpers/circle-node";
import { CoreProcess, runCore } from "../helpers/core-process";
import { deleteStreams } from "../helpers/nats-cleanup";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";
import { coreSubjects } from "../../lib/transport/subjects";

/**
 * Durable consult jobs across two `core` processes sharing NATS JetStream and
 * PostgreSQL: a job whose node is killed (-9) mid-consult completes exactly
 * once on the other node; a job that keeps failing, or may never run, lands
 * on the dead-letter subject.
 */

const namespace = uniqueName("jobs_e2e");
const prefix = uniqueName("jobs");
const subjects = coreSubjects(prefix);
const pg = testSchema("jobs_e2e");
const SERVICES = "supervisor,jobs,circle,experts,aggregator,costs,budgets";
const ACK_WAIT_MS = 3_000;
const MAX_ATTEMPTS = 3;
/** How long the slow expert takes to answer: long enough to kill its node mid-consult. */
const EXPERT_LATENCY_MS = 3_000;

let stub: ProviderStub;
let nc: NatsConnection;
let db: Client;
let nodes: Record<string, CoreProcess>;
let operatorKey: string;
let viewerKey: string;

interface Seen {
  subject: string;
  json?: Record<string, unknown>;
  data: string;
  headers: Record<string, string>;
}
const seen: Seen[] = [];

function record(msg: Msg): void {
  const headers: Record<string, string> = {};
  for (const [name, values] of msg.headers ?? []) headers[name] = values.join(", ");
  const data = Buffer.from(msg.data).toString();
  seen.push({ subject: msg.subject, data, headers, ...(msg.subject.startsWith(`${prefix}.events.`) ? { json: JSON.parse(data) as Record<string, unknown> } : {}) });
}

const eventsOf = (jobId: string, name?: string) => seen.filter((s) => s.json?.jobId === jobId && (!name || s.subject === subjects.event(name)));
const deadLettersOf = (jobId: string) => seen.filter((s) => s.subject === subjects.deadLetter && s.headers["Core-Job-Id"] === jobId);

async function publishJob(id: string, body: object, key: string): Promise<void> {
  const h = natsHeaders();
  h.set("Nats-Msg-Id", id);
  h.set("X-Api-Key", key);
  const ack = await nc.jetstream().publish(subjects.consultJob, Buffer.from(JSON.stringify(body)), { headers: h });
  expect(ack.duplicate).toBe(false);
}

async function createKey(name: string, role: string, configFile: string): Promise<string> {
  const r = await runCore(["keys", "create", "--name", name, "--role", role, "--json"], { env: { DATABASE_URL: pg.url, CORE_DB_SCHEMA: pg.schema, CORE_CONFIG: configFile } });
  if (r.code !== 0) throw new Error(`core keys create failed:\n${r.output}`);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

/** Waits until the stream holds no job: every delivery was acked or terminated, so nothing more can happen to them. */
async function streamDrained(): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await waitFor(async () => (await jsm.streams.info(subjects.jobsStream)).state.messages === 0, 30_000, "the jobs stream to be empty");
  await nc.flush();
}

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ latencyMs: EXPERT_LATENCY_MS, text: "Water boils at 100 degrees Celsius. Final answer: 100" }, { model: "slow-model" });
  stub.always({ status: 500 }, { model: "broken-model" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "slow", provider: "openai", model: "slow-model", baseUrl: stub.baseUrl("openai") },
      { id: "broken", provider: "openai", model: "broken-model", baseUrl: stub.baseUrl("openai") },
    ],
  });
  const env = {
    CORE_CONFIG: configFile,
    OPENAI_API_KEY: "k",
    CORE_SUBJECT_PREFIX: prefix,
    CORE_JOBS_ACK_WAIT_MS: String(ACK_WAIT_MS),
    CORE_JOBS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    CORE_JOBS_BACKOFF_MS: "300",
    CORE_LOG_LEVEL: "info",
  };
  const [a, b] = await Promise.all([startClusterNode("jobs-a", SERVICES, { namespace, pg, env }), startClusterNode("jobs-b", SERVICES, { namespace, pg, env })]);
  nodes = { "jobs-a": a, "jobs-b": b };
  await Promise.all([a, b].map((n) => n.waitForOutput(/Durable jobs: /, 10_000)));
  [operatorKey, viewerKey] = [await createKey("jobs-e2e", "operator", configFile), await createKey("jobs-e2e-viewer", "viewer", configFile)];
  nc = await connect({ servers: NATS_URL });
  nc.subscribe(subjects.eventsWildcard, { callback: (_err, msg) => record(msg) });
  nc.subscribe(subjects.deadLetter, { callback: (_err, msg) => record(msg) });
  await nc.flush();
  db = new Client({ connectionString: pg.url });
  await db.connect();
  await db.query(`SET search_path TO "${pg.schema}"`);
}, 120_000);

afterAll(async () => {
  await CoreProcess.killAll();
  await stub?.close();
  await nc?.close();
  await db?.end();
  await pg.drop();
  await deleteStreams([subjects.jobsStream]);
});

describe("durable consult jobs over JetStream (two nodes)", () => {
  it("a job whose node is killed (-9) mid-consult completes exactly once on the other node", async () => {
    const id = uniqueName("job");
    const question = `How hot does water boil? (${id})`;
    await publishJob(id, { question, experts: ["slow"], minResponses: 1 }, operatorKey);

    const [started] = await waitFor(() => (eventsOf(id, "jobs.started").length > 0 ? eventsOf(id, "jobs.started") : undefined), 20_000, "jobs.started");
    const victim = String(started!.json!.node);
    const survivor = victim === "jobs-a" ? "jobs-b" : "jobs-a";
    expect(started!.json).toMatchObject({ jobId: id, attempt: 1, maxAttempts: MAX_ATTEMPTS });
    nodes[victim]!.proc.kill("SIGKILL");
    const killedAt = Date.now();

    const [completed] = await waitFor(() => (eventsOf(id, "jobs.completed").length > 0 ? eventsOf(id, "jobs.completed") : undefined), 30_000, "jobs.completed");
    const tookMs = Date.now() - killedAt;
    console.log(`job ${id}: ${victim} killed mid-consult; completed on ${survivor} ${tookMs} ms later (ack wait ${ACK_WAIT_MS} ms + expert ${EXPERT_LATENCY_MS} ms)`);
    await streamDrained();

    expect(completed!.json).toMatchObject({ jobId: id, node: survivor, attempt: 2, principal: expect.any(String), result: { status: "completed", question } });
    expect(eventsOf(id, "jobs.completed")).toHaveLength(1);
    expect(eventsOf(id, "jobs.started").map((e) => [e.json!.node, e.json!.attempt])).toEqual([
      [victim, 1],
      [survivor, 2],
    ]);
    const consultationId = completed!.json!.consultationId;
    const jobs = await db.query("SELECT status, attempts, node, consultation_id FROM jobs WHERE id = $1", [id]);
    expect(jobs.rows).toEqual([{ status: "completed", attempts: 2, node: survivor, consultation_id: consultationId }]);
    const consultations = await db.query("SELECT id, status, node_id FROM consultations WHERE question = $1", [question]);
    expect(consultations.rows).toEqual([{ id: consultationId, status: "completed", node_id: survivor }]);
    expect(tookMs).toBeLessThan(ACK_WAIT_MS + EXPERT_LATENCY_MS + 10_000);
    // Audited once, as the key that published it, by the node that completed it (audit rows are written in batches).
    const audit = await waitFor(async () => (await db.query("SELECT action, outcome, source, principal FROM audit_log WHERE request_id = $1", [id])).rows[0], 10_000, "the audit row");
    expect(audit).toEqual({ action: "circle.consult", outcome: "ok", source: "nats:jobs", principal: completed!.json!.principal });
  });

  it("a job whose experts always fail lands on the dead-letter subject after the configured attempts", async () => {
    const id = uniqueName("job");
    const body = { question: `Will this ever work? (${id})`, experts: ["broken"], minResponses: 1, timeoutMs: 3_000 };
    await publishJob(id, body, operatorKey);
    const [letter] = await waitFor(() => (deadLettersOf(id).length > 0 ? deadLettersOf(id) : undefined), 60_000, "the dead letter");
    await streamDrained();

    expect(JSON.parse(letter!.data)).toEqual(body);
    expect(letter!.headers).toMatchObject({
      "Nats-Msg-Id": id,
      "X-Api-Key": operatorKey,
      "Core-Job-Id": id,
      "Core-Attempts": String(MAX_ATTEMPTS),
      "Core-Error-Code": "QUORUM_NOT_REACHED",
      "Core-Error": expect.stringMatching(/^0 of 1 experts answered; the consult needed 1/),
    });
    expect(deadLettersOf(id)).toHaveLength(1);
    expect(eventsOf(id, "jobs.started").map((e) => e.json!.attempt)).toEqual([1, 2, 3]);
    expect(eventsOf(id, "jobs.failed").map((e) => [e.json!.attempt, e.json!.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(eventsOf(id, "jobs.dead").map((e) => e.json)).toEqual([expect.objectContaining({ attempts: MAX_ATTEMPTS, deadLetterSubject: subjects.deadLetter, error: expect.objectContaining({ code: "QUORUM_NOT_REACHED" }) })]);
    const jobs = await db.query("SELECT status, attempts, error->>'code' AS code FROM jobs WHERE id = $1", [id]);
    expect(jobs.rows).toEqual([{ status: "dead", attempts: MAX_ATTEMPTS, code: "QUORUM_NOT_REACHED" }]);
  });

  it("a job its principal may not run (403), or that is invalid, is dead-lettered at once, without a retry", async () => {
    const forbidden = uniqueName("job");
    const invalid = uniqueName("job");
    await publishJob(forbidden, { question: "May I?", experts: ["slow"] }, viewerKey);
    await publishJob(invalid, { question: "Colour?", colour: "red" }, operatorKey);
    await waitFor(() => deadLettersOf(forbidden).length > 0 && deadLettersOf(invalid).length > 0, 30_000, "both dead letters");
    await streamDrained();

    expect(deadLettersOf(forbidden)[0]!.headers).toMatchObject({ "Core-Attempts": "1", "Core-Error-Code": "FORBIDDEN", "Core-Error": expect.stringMatching(/lacks permission consult:run/) });
    expect(eventsOf(forbidden, "jobs.started")).toHaveLength(1);
    expect(deadLettersOf(invalid)[0]!.headers).toMatchObject({ "Core-Attempts": "1", "Core-Error-Code": "VALIDATION_FAILED", "Core-Error": "Invalid consult job" });
    expect(eventsOf(invalid, "jobs.started")).toHaveLength(0);
    expect(eventsOf(invalid, "jobs.dead")[0]!.json).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
  });
});
