import type { Consultation } from "../../../../lib/circle/consultation";
import { CoreError, ForbiddenError, InvalidApiKeyError, QuorumNotReachedError, UnavailableError } from "../../../../lib/errors";
import {
  JobHandler,
  JobPolicy,
  type JobAttempt,
  type JobClaim,
  type JobDelivery,
  type JobError,
  type JobHandlerOptions,
  type JobHeaders,
  type JobRecord,
  type JobSettlement,
  type JobStore,
} from "../../../../lib/jobs";
import { silentLogger } from "../../../../lib/logger";
import type { AuthenticatedPrincipal } from "../../../../lib/security/principal";
import { coreSubjects } from "../../../../lib/transport/subjects";

const subjects = coreSubjects("core");
const KEY_PRINCIPAL: AuthenticatedPrincipal = { id: "key1", kind: "key", roles: ["operator"], scopes: [] };

/** The jobs table's guards, in memory (the real statements are tested against PostgreSQL and PGlite in test/integration/lib/jobs). */
class MemoryJobStore implements Pick<JobStore, "begin" | "complete" | "fail" | "markDead" | "get"> {
  readonly rows = new Map<string, JobRecord>();
  failNext: Error | undefined;

  private write(a: JobAttempt, fields: Partial<JobRecord>): void {
    const now = new Date().toISOString();
    const old = this.rows.get(a.id);
    this.rows.set(a.id, {
      id: a.id,
      status: "running",
      consultationId: undefined,
      principal: undefined,
      error: undefined,
      createdAt: old?.createdAt ?? now,
      completedAt: undefined,
      ...old,
      attempts: a.attempt,
      streamSeq: a.streamSeq,
      node: a.node,
      updatedAt: now,
      ...fields,
    });
  }

  private check(): void {
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
  }

  async begin(a: JobAttempt): Promise<JobClaim> {
    this.check();
    const row = this.rows.get(a.id);
    if (row?.status === "completed") return { state: "completed", record: row };
    if (row?.status === "dead" && row.streamSeq === a.streamSeq) return { state: "dead", record: row };
    this.write(a, { status: "running" });
    return { state: "started" };
  }

  async complete(a: JobAttempt & { consultationId: string; principal: string }): Promise<boolean> {
    this.check();
    if (this.rows.get(a.id)?.status === "completed") return false;
    this.write(a, { status: "completed", consultationId: a.consultationId, principal: a.principal, error: undefined, completedAt: new Date().toISOString() });
    return true;
  }

  async fail(a: JobAttempt & { principal: string | undefined; error: JobError }): Promise<boolean> {
    this.check();
    const status = this.rows.get(a.id)?.status;
    if (status === "completed" || status === "dead") return false;
    this.write(a, { status: "failed", error: a.error, ...(a.principal ? { principal: a.principal } : {}) });
    return true;
  }

  async markDead(a: JobAttempt & { principal: string | undefined; error: JobError }): Promise<boolean> {
    this.check();
    if (this.rows.get(a.id)?.status === "completed") return false;
    this.write(a, { status: "dead", error: a.error, ...(a.principal ? { principal: a.principal } : {}) });
    return true;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.rows.get(id);
  }
}

/** A delivery that records what the handler did with it. */
function delivery(over: Partial<Pick<JobDelivery, "deliveryCount" | "subject" | "headers" | "streamSequence">> & { body?: unknown } = {}) {
  const done: string[] = [];
  const d: JobDelivery & { done: string[]; beats: number } = {
    subject: over.subject ?? subjects.consultJob,
    data: Buffer.from(typeof over.body === "string" ? over.body : JSON.stringify(over.body ?? { question: "Is water wet?" })),
    headers: over.headers ?? ([["Nats-Msg-Id", "job-1"], ["X-Api-Key", "core_key1_secret"]] as JobHeaders),
    deliveryCount: over.deliveryCount ?? 1,
    streamSequence: over.streamSequence ?? 7,
    storedAtMs: 1_000,
    done,
    beats: 0,
    async ack() {
      done.push("ack");
    },
    nak(delayMs) {
      done.push(`nak ${delayMs}`);
    },
    term() {
      done.push("term");
    },
    working() {
      d.beats++;
    },
  };
  return d;
}

const consultation = (id = "11111111-1111-4111-8111-111111111111") => ({ id, status: "completed", principal: "key1" }) as Consultation;

interface Published {
  subject: string;
  json?: Record<string, unknown>;
  data: Uint8Array;
  headers?: JobHeaders;
}

function setup(over: Partial<JobHandlerOptions> = {}) {
  const store = new MemoryJobStore();
  const published: Published[] = [];
  const settled: JobSettlement[] = [];
  const consults: Array<{ jobId: string; principal: string }> = [];
  const options: JobHandlerOptions = {
    nodeId: "node-a",
    subjects,
    store,
    policy: new JobPolicy({ maxAttempts: 3, backoff: { initialMs: 1_000, maxMs: 60_000, factor: 2 }, random: () => 0 }),
    heartbeatMs: 10,
    authenticate: async (credential) => {
      if (credential !== "core_key1_secret") throw new InvalidApiKeyError("The API key is not valid.");
      return KEY_PRINCIPAL;
    },
    consult: async (_request, { jobId, principal }) => {
      consults.push({ jobId, principal: principal.id });
      return consultation();
    },
    publish: (subject, data, headers) => {
      const entry: Published = { subject, data, ...(headers ? { headers } : {}) };
      if (subject.startsWith("core.events.")) entry.json = JSON.parse(Buffer.from(data).toString()) as Record<string, unknown>;
      published.push(entry);
    },
    logger: silentLogger,
    onSettled: (s) => settled.push(s),
    ...over,
  };
  const handler = new JobHandler(options);
  const events = () => published.filter((p) => p.subject.startsWith("core.events.")).map((p) => [p.subject.slice("core.events.".length), p.json!] as const);
  const deadLetters = () => published.filter((p) => p.subject === subjects.deadLetter);
  return { handler, store, published, settled, consults, events, deadLetters };
}

describe("JobHandler", () => {
  it("runs a job as its principal, records the completion, announces it with the result, then acks", async () => {
    const t = setup();
    const d = delivery();
    await t.handler.handle(d);
    expect(t.consults).toEqual([{ jobId: "job-1", principal: "key1" }]);
    expect(d.done).toEqual(["ack"]);
    expect(t.store.rows.get("job-1")).toMatchObject({ status: "completed", consultationId: consultation().id, principal: "key1", attempts: 1, node: "node-a" });
    expect(t.events().map(([name]) => name)).toEqual(["jobs.started", "jobs.completed"]);
    expect(t.events()[0]![1]).toMatchObject({ jobId: "job-1", node: "node-a", attempt: 1, maxAttempts: 3 });
    expect(t.events()[1]![1]).toMatchObject({ jobId: "job-1", consultationId: consultation().id, principal: "key1", result: { id: consultation().id } });
    expect(t.settled).toEqual([{ jobId: "job-1", principal: "key1", outcome: "completed" }]);
  });

  it("acks a redelivered job that is already completed without running it again or announcing it twice", async () => {
    const t = setup();
    await t.handler.handle(delivery());
    const again = delivery({ deliveryCount: 2 });
    await t.handler.handle(again);
    expect(t.consults).toHaveLength(1);
    expect(again.done).toEqual(["ack"]);
    expect(t.events().filter(([name]) => name === "jobs.completed")).toHaveLength(1);
  });

  it("acks without announcing when another attempt recorded the completion while this one ran", async () => {
    const t = setup();
    t.store.complete = async () => false;
    const d = delivery();
    await t.handler.handle(d);
    expect(d.done).toEqual(["ack"]);
    expect(t.events().map(([name]) => name)).toEqual(["jobs.started"]);
    expect(t.settled).toEqual([]);
  });

  it("naks a retryable failure with the backoff delay and says it will retry", async () => {
    const t = setup({ consult: async () => Promise.reject(new UnavailableError("the circle is restarting")) });
    const d = delivery();
    await t.handler.handle(d);
    expect(d.done).toEqual(["nak 500"]);
    expect(t.store.rows.get("job-1")).toMatchObject({ status: "failed", attempts: 1, principal: "key1", error: { code: "UNAVAILABLE", message: "the circle is restarting", status: 503 } });
    expect(t.events().map(([name]) => name)).toEqual(["jobs.started", "jobs.failed"]);
    expect(t.events()[1]![1]).toMatchObject({ jobId: "job-1", attempt: 1, willRetry: true, retryInMs: 500, error: { code: "UNAVAILABLE" } });
    expect(t.deadLetters()).toEqual([]);
  });

  it("dead-letters a job whose last attempt fails: original body and headers plus the verdict, marked dead, terminated", async () => {
    const failure = new QuorumNotReachedError("0 of 1 experts answered; the consult needed 1", {
      data: { experts: [{ expertId: "broken", status: "failed", latencyMs: 3, error: { code: "PROVIDER_UNAVAILABLE", retryable: true } }] },
    });
    const t = setup({ consult: async () => Promise.reject(failure) });
    const d = delivery({ deliveryCount: 3 });
    await t.handler.handle(d);
    expect(d.done).toEqual(["term"]);
    expect(t.store.rows.get("job-1")).toMatchObject({ status: "dead", attempts: 3, error: { code: "QUORUM_NOT_REACHED" } });
    const [letter] = t.deadLetters();
    expect(Buffer.from(letter!.data).toString()).toBe(JSON.stringify({ question: "Is water wet?" }));
    expect(letter!.headers).toEqual([
      ["Nats-Msg-Id", "job-1"],
      ["X-Api-Key", "core_key1_secret"],
      ["Core-Job-Id", "job-1"],
      ["Core-Attempts", "3"],
      ["Core-Error-Code", "QUORUM_NOT_REACHED"],
      ["Core-Error", "0 of 1 experts answered; the consult needed 1"],
    ]);
    expect(t.events().map(([name]) => name)).toEqual(["jobs.started", "jobs.failed", "jobs.dead"]);
    expect(t.events()[1]![1]).toMatchObject({ willRetry: false, attempt: 3 });
    expect(t.events()[2]![1]).toMatchObject({ jobId: "job-1", attempts: 3, deadLetterSubject: "core.dlq.jobs", error: { code: "QUORUM_NOT_REACHED" } });
    expect(t.settled).toEqual([{ jobId: "job-1", principal: "key1", outcome: "dead", error: expect.objectContaining({ code: "QUORUM_NOT_REACHED" }) }]);
  });

  it.each([
    ["a refused credential (401)", { headers: [["Nats-Msg-Id", "job-1"], ["X-Api-Key", "core_wrong_key"]] as JobHeaders }, {}, "AUTH_INVALID_KEY"],
    ["a missing permission (403)", {}, { consult: async () => Promise.reject(new ForbiddenError("key1 lacks consult:run")) }, "FORBIDDEN"],
  ])("dead-letters %s on the first attempt, without retrying", async (_what, d0, over, code) => {
    const t = setup(over);
    const d = delivery(d0);
    await t.handler.handle(d);
    expect(d.done).toEqual(["term"]);
    expect(t.deadLetters()[0]!.headers).toEqual(expect.arrayContaining([["Core-Error-Code", code], ["Core-Attempts", "1"]]));
    expect(t.store.rows.get("job-1")!.status).toBe("dead");
  });

  it("dead-letters an invalid job at once, without an attempt (no jobs.started, no consult)", async () => {
    const t = setup();
    const d = delivery({ body: { question: "q", colour: "red" } });
    await t.handler.handle(d);
    expect(t.consults).toEqual([]);
    expect(d.done).toEqual(["term"]);
    expect(t.events().map(([name]) => name)).toEqual(["jobs.failed", "jobs.dead"]);
    expect(t.deadLetters()[0]!.headers).toEqual(expect.arrayContaining([["Core-Error-Code", "VALIDATION_FAILED"], ["Core-Error", "Invalid consult job"]]));
  });

  it("dead-letters, without running it, the delivery after a last attempt that never reported (its node died)", async () => {
    const t = setup();
    await t.store.fail({ id: "job-1", attempt: 2, streamSeq: 7, node: "node-b", principal: "key1", error: { code: "UNAVAILABLE", message: "down" } });
    await t.store.begin({ id: "job-1", attempt: 3, streamSeq: 7, node: "node-b" });
    const d = delivery({ deliveryCount: 4 });
    await t.handler.handle(d);
    expect(t.consults).toEqual([]);
    expect(d.done).toEqual(["term"]);
    expect(t.store.rows.get("job-1")).toMatchObject({ status: "dead", attempts: 3, error: { code: "JOB_ATTEMPTS_EXHAUSTED" } });
    const headers = Object.fromEntries(t.deadLetters()[0]!.headers!);
    expect(headers["Core-Attempts"]).toBe("3");
    expect(headers["Core-Error"]).toBe("The job's last attempt (3 of 3) did not finish: its node stopped or stalled past the ack wait; the attempt before it failed with UNAVAILABLE: down");
  });

  it("publishes the dead letter again, and terminates, when a message dead-lettered from a crash window comes back", async () => {
    const t = setup();
    await t.store.markDead({ id: "job-1", attempt: 2, streamSeq: 7, node: "node-b", principal: "key1", error: { code: "FORBIDDEN", message: "no" } });
    const d = delivery({ deliveryCount: 3 });
    await t.handler.handle(d);
    expect(t.consults).toEqual([]);
    expect(d.done).toEqual(["term"]);
    expect(Object.fromEntries(t.deadLetters()[0]!.headers!)).toMatchObject({ "Core-Error-Code": "FORBIDDEN", "Core-Attempts": "2" });
  });

  it("runs a dead job again when it is published anew with the same id (another stream message)", async () => {
    const t = setup();
    await t.store.markDead({ id: "job-1", attempt: 1, streamSeq: 7, node: "node-b", principal: "key1", error: { code: "FORBIDDEN", message: "no" } });
    const d = delivery({ streamSequence: 8 });
    await t.handler.handle(d);
    expect(t.consults).toHaveLength(1);
    expect(t.store.rows.get("job-1")).toMatchObject({ status: "completed", streamSeq: 8 });
  });

  it("never dead-letters a job completed meanwhile: it acks instead", async () => {
    const t = setup({ consult: async () => Promise.reject(new ForbiddenError("no")) });
    t.store.markDead = async () => false;
    const d = delivery();
    await t.handler.handle(d);
    expect(d.done).toEqual(["ack"]);
    expect(t.deadLetters()).toEqual([]);
  });

  it("naks with a delay when the store fails around the job (the job itself did not fail)", async () => {
    const t = setup();
    t.store.failNext = new Error("connection refused");
    const d = delivery();
    await t.handler.handle(d);
    expect(d.done).toEqual(["nak 500"]);
    expect(t.consults).toEqual([]);
  });

  it("keeps the ack wait from running out while a long consult runs (working heartbeats), and stops after", async () => {
    const t = setup({ consult: () => new Promise((r) => setTimeout(() => r(consultation()), 120)) });
    const d = delivery();
    await t.handler.handle(d);
    const beats = d.beats;
    expect(beats).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 50));
    expect(d.beats).toBe(beats);
  });

  it("announces the completion without the result when the result does not fit in a NATS message", async () => {
    const t = setup();
    const publish = t.handler["o"].publish;
    t.handler["o"].publish = (subject, data, headers) => {
      if (subject.endsWith("jobs.completed") && data.length > 300) throw new CoreError("MAX_PAYLOAD_EXCEEDED");
      publish(subject, data, headers);
    };
    const big = { ...consultation(), question: "x".repeat(1_000) } as Consultation;
    t.handler["o"].consult = async () => big;
    await t.handler.handle(delivery());
    const completed = t.events().find(([name]) => name === "jobs.completed")![1];
    expect(completed).toMatchObject({ consultationId: big.id, resultOmitted: expect.stringContaining(`/api/v1/consultations/${big.id}`) });
    expect(completed.result).toBeUndefined();
  });

  it("says in every event when the job's id was made by CORE (no Nats-Msg-Id)", async () => {
    const t = setup();
    await t.handler.handle(delivery({ headers: [["X-Api-Key", "core_key1_secret"]] }));
    expect(t.events().map(([, e]) => [e.jobId, e.idGenerated])).toEqual([
      ["auto-7-1000", true],
      ["auto-7-1000", true],
    ]);
  });
});
