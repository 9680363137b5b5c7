import { connect, headers as natsHeaders, RetentionPolicy, StorageType, nanos, type NatsConnection } from "nats";
import type { Consultation } from "../../../../lib/circle/consultation";
import { UnavailableError } from "../../../../lib/errors";
import { ensureJobsConsumer, ensureJobsStream, JobHandler, JobPolicy, JOBS_CONSUMER, JobStore, JobWorker, type JobDelivery } from "../../../../lib/jobs";
import { silentLogger } from "../../../../lib/logger";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { coreSubjects, type CoreSubjects } from "../../../../lib/transport/subjects";
import { deleteStreams } from "../../../helpers/nats-cleanup";
import { NATS_URL } from "../../../helpers/services";
import { testStores } from "../../../helpers/test-stores";
import { uniqueName } from "../../../helpers/unique";
import { waitFor } from "../../../helpers/wait";

/** The jobs stream, its shared consumer and the worker against the real NATS JetStream and PostgreSQL. */

const stores = testStores("jobs_stream");
const prefixes: CoreSubjects[] = [];
const connections: NatsConnection[] = [];
const workers: JobWorker[] = [];
let store: Store;

/** A prefix (and so a stream) of this test's own. */
function fresh(): CoreSubjects {
  const s = coreSubjects(uniqueName("jobs"));
  prefixes.push(s);
  return s;
}

async function nats(): Promise<NatsConnection> {
  const nc = await connect({ servers: NATS_URL });
  connections.push(nc);
  return nc;
}

beforeAll(async () => {
  store = await stores.postgres();
  await migrate(store, MIGRATIONS);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(0)));
  await Promise.all(connections.map((c) => c.close()));
  await deleteStreams(prefixes.map((s) => s.jobsStream));
  await stores.closeAll();
});

async function publishJob(nc: NatsConnection, subjects: CoreSubjects, id: string | undefined, body: object = { question: "Is water wet?" }) {
  const h = natsHeaders();
  if (id) h.set("Nats-Msg-Id", id);
  h.set("X-Api-Key", "core_key1_secret");
  return nc.jetstream().publish(subjects.consultJob, Buffer.from(JSON.stringify(body)), { headers: h });
}

/** A worker whose consults are counted (and take `consultMs`), on a connection of its own, like one node. */
async function node(subjects: CoreSubjects, name: string, o: { consultMs?: number; ackWaitMs?: number; concurrency?: number; log?: string[] } = {}) {
  const nc = await nats();
  const jsm = await nc.jetstreamManager();
  const ackWaitMs = o.ackWaitMs ?? 30_000;
  const policy = new JobPolicy({ maxAttempts: 3 });
  const consults: string[] = [];
  const handler = new JobHandler({
    nodeId: name,
    subjects,
    store: new JobStore(store),
    policy,
    heartbeatMs: Math.floor(ackWaitMs / 3),
    authenticate: async () => ({ id: "key1", kind: "key", roles: ["operator"] }),
    consult: async (_request, { jobId }) => {
      consults.push(jobId);
      o.log?.push(`${name} runs ${jobId}`);
      // Unref: a consult left running by a stopped node must not keep the test process alive.
      await new Promise((r) => setTimeout(r, o.consultMs ?? 0).unref());
      return { id: crypto.randomUUID(), status: "completed" } as Consultation;
    },
    publish: (subject, data) => nc.publish(subject, data),
    logger: silentLogger,
  });
  await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 120_000 });
  await ensureJobsConsumer(jsm, { subjects, ackWaitMs, maxDeliver: policy.maxDeliver });
  const worker = new JobWorker({
    consumer: () => nc.jetstream().consumers.get(subjects.jobsStream, JOBS_CONSUMER),
    handle: (d) => handler.handle(d),
    concurrency: o.concurrency ?? 4,
    logger: silentLogger,
    pullExpiresMs: 1_000,
  });
  workers.push(worker);
  return { nc, worker, consults };
}

describe("the jobs stream (real NATS JetStream)", () => {
  it("is created idempotently: twice in a row, and by five nodes at once", async () => {
    const subjects = fresh();
    const nc = await nats();
    const jsm = await nc.jetstreamManager();
    await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 120_000 });
    await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 120_000 });
    const managers = await Promise.all(Array.from({ length: 5 }, async () => (await nats()).jetstreamManager()));
    await Promise.all(managers.map((m) => ensureJobsStream(m, { subjects, duplicateWindowMs: 120_000 })));
    await Promise.all(managers.map((m) => ensureJobsConsumer(m, { subjects, ackWaitMs: 30_000, maxDeliver: 6 })));
    await ensureJobsConsumer(jsm, { subjects, ackWaitMs: 30_000, maxDeliver: 6 });

    const { config } = await jsm.streams.info(subjects.jobsStream);
    expect(config).toMatchObject({
      name: subjects.jobsStream,
      subjects: [subjects.jobsWildcard],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
      max_msg_size: 256 * 1024,
    });
    expect(subjects.deadLetter.startsWith(subjects.jobsWildcard.slice(0, -1))).toBe(false);
    const consumers = await jsm.consumers.list(subjects.jobsStream).next();
    expect(consumers.map((c) => [c.name, c.config.ack_policy, c.config.ack_wait, c.config.max_deliver])).toEqual([[JOBS_CONSUMER, "explicit", nanos(30_000), 6]]);
  });

  it("is brought to new settings by a node started with them (duplicate window, ack wait, attempts)", async () => {
    const subjects = fresh();
    const jsm = await (await nats()).jetstreamManager();
    await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 120_000 });
    await ensureJobsConsumer(jsm, { subjects, ackWaitMs: 30_000, maxDeliver: 6 });
    await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 60_000 });
    await ensureJobsConsumer(jsm, { subjects, ackWaitMs: 5_000, maxDeliver: 3 });
    expect((await jsm.streams.info(subjects.jobsStream)).config.duplicate_window).toBe(nanos(60_000));
    expect((await jsm.consumers.info(subjects.jobsStream, JOBS_CONSUMER)).config).toMatchObject({ ack_wait: nanos(5_000), max_deliver: 3 });
  });

  it("refuses, saying what to do, a stream of that name that CORE cannot bring to its configuration", async () => {
    const subjects = fresh();
    const jsm = await (await nats()).jetstreamManager();
    await jsm.streams.add({ name: subjects.jobsStream, subjects: [subjects.jobsWildcard], retention: RetentionPolicy.Limits });
    const err = await ensureJobsStream(jsm, { subjects, duplicateWindowMs: 120_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`updating the JetStream stream ${subjects.jobsStream} .*nats stream rm ${subjects.jobsStream}`));
  });

  it("deduplicates by Nats-Msg-Id: a job published twice runs once", async () => {
    const subjects = fresh();
    const a = await node(subjects, "a");
    const id = uniqueName("job");
    const first = await publishJob(a.nc, subjects, id);
    const second = await publishJob(a.nc, subjects, id);
    expect([first.duplicate, second.duplicate]).toEqual([false, true]);
    expect(second.seq).toBe(first.seq);
    a.worker.start();
    await waitFor(async () => (await new JobStore(store).get(id))?.status === "completed", 20_000, "the job to complete");
    // A third copy, after the job completed (as if the publisher retried late), is acked without running.
    await publishJob(a.nc, subjects, id);
    const jsm = await a.nc.jetstreamManager();
    await waitFor(async () => (await jsm.streams.info(subjects.jobsStream)).state.messages === 0, 10_000, "the stream to be empty");
    expect(a.consults).toEqual([id]);
  });

  it("runs no more jobs at once on a node than its concurrency, and every job once", async () => {
    const subjects = fresh();
    let running = 0;
    let most = 0;
    const a = await node(subjects, "a", { concurrency: 2 });
    const nc = a.nc;
    const ids = Array.from({ length: 6 }, () => uniqueName("job"));
    for (const id of ids) await publishJob(nc, subjects, id);
    const counting = new JobWorker({
      consumer: () => nc.jetstream().consumers.get(subjects.jobsStream, JOBS_CONSUMER),
      handle: async (d: JobDelivery) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
        await d.ack();
      },
      concurrency: 2,
      logger: silentLogger,
      pullExpiresMs: 1_000,
    });
    workers.push(counting);
    counting.start();
    const jsm = await nc.jetstreamManager();
    await waitFor(async () => (await jsm.streams.info(subjects.jobsStream)).state.messages === 0, 20_000, "every job acked");
    expect(most).toBe(2);
  });

  it("hands a running job back when its node stops, so another node runs it at once rather than after the ack wait", async () => {
    const subjects = fresh();
    const log: string[] = [];
    const stopping = await node(subjects, "a", { ackWaitMs: 30_000, consultMs: 60_000, log });
    const id = uniqueName("job");
    await publishJob(stopping.nc, subjects, id);
    stopping.worker.start();
    await waitFor(() => log.length > 0, 10_000, "node a to start the job");
    expect(await stopping.worker.stop(200)).toBe(1);
    const stoppedAt = Date.now();
    const b = await node(subjects, "b", { ackWaitMs: 30_000, log });
    b.worker.start();
    await waitFor(async () => (await new JobStore(store).get(id))?.status === "completed", 10_000, "the job to complete on b");
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(log).toEqual([`a runs ${id}`, `b runs ${id}`]);
    // (Its attempt number is not asserted: nats-server takes a delivery back, count included, when the
    // message is handed back into a pull request the stopped node no longer listens to.)
    expect(await new JobStore(store).get(id)).toMatchObject({ status: "completed", node: "b" });
  });

  it("delivers a job whose node went silent mid-job to another node after the ack wait; it completes there once", async () => {
    const subjects = fresh();
    const log: string[] = [];
    // Node a takes the job and goes silent, as a node killed with -9 does: no ack, no heartbeat.
    const silent = await node(subjects, "a", { ackWaitMs: 2_000 });
    let taken: JobDelivery | undefined;
    const dead = new JobWorker({
      consumer: () => silent.nc.jetstream().consumers.get(subjects.jobsStream, JOBS_CONSUMER),
      handle: (d) => {
        taken = d;
        log.push("a takes it and dies");
        return new Promise(() => undefined);
      },
      concurrency: 1,
      logger: silentLogger,
      pullExpiresMs: 1_000,
    });
    workers.push(dead);
    dead.start();
    const id = uniqueName("job");
    await publishJob(silent.nc, subjects, id);
    await waitFor(() => taken, 10_000, "node a to take the job");
    const b = await node(subjects, "b", { ackWaitMs: 2_000, consultMs: 3_000, log });
    const tookAt = Date.now();
    b.worker.start();
    // b's consult (3 s) outlasts the ack wait (2 s): its heartbeats keep the job from a third delivery.
    await waitFor(async () => (await new JobStore(store).get(id))?.status === "completed", 20_000, "the job to complete on b");
    expect(Date.now() - tookAt).toBeGreaterThanOrEqual(3_000);
    expect(log).toEqual(["a takes it and dies", `b runs ${id}`]);
    expect(await new JobStore(store).get(id)).toMatchObject({ status: "completed", attempts: 2, node: "b" });
    expect(taken!.deliveryCount).toBe(1);
  });
});
