import type { ServiceBroker, ServiceSchema } from "moleculer";
import { headers as natsHeaders, type NatsConnection } from "nats";
import { AuditLog } from "../lib/audit";
import { DEFAULT_CONSULT_TIMEOUT_MS } from "../lib/circle/consult-request";
import type { Consultation } from "../lib/circle/consultation";
import { UnavailableError } from "../lib/errors";
import { ensureJobsConsumer, ensureJobsStream, JobHandler, JobPolicy, JobStore, JobWorker, JOBS_CONSUMER } from "../lib/jobs";
import { connectNats } from "../lib/transport/nats-connection";
import { coreSubjects } from "../lib/transport/subjects";
import { EdgeAuditor, outcomeOf } from "../mixins/edge-auditor";
import { apiKeyRevocations, authenticatorOf } from "../mixins/node-authenticator";
import type { NodeRuntime } from "../mixins/node-runtime";
import { toCoreError } from "../mixins/to-core-error";

type Self = { broker: ServiceBroker; logger: ServiceBroker["logger"] };

/** Time a consult call gets beyond the consult's own deadline: the circle answers a missed deadline itself, this only bounds a lost reply. */
const CALL_MARGIN_MS = 5_000;
/** A failed job's retries wait at most this long (or the first delay, when that is longer). */
const MAX_BACKOFF_MS = 60_000;

/**
 * `jobs`: durable consult jobs from the JetStream stream `<PREFIX>_JOBS`
 * (lib/jobs). Every node running it creates or updates the stream and the
 * shared durable consumer, then pulls jobs and runs each as its publisher's
 * principal through `circle.consult`. Events go to `<prefix>.events.jobs.*`,
 * given-up jobs to `<prefix>.dlq.jobs`. It has its own NATS connection;
 * an embedded node (no NATS_URL) has no JetStream and does nothing here.
 */
export default function createJobsService(runtime: NodeRuntime): ServiceSchema {
  const { config } = runtime;
  const subjects = coreSubjects(config.subjectPrefix);
  let nc: NatsConnection | undefined;
  let worker: JobWorker | undefined;

  return {
    name: "jobs",
    mixins: [apiKeyRevocations(runtime)],

    async started(this: Self) {
      if (!config.nats) {
        this.logger.debug(`Durable jobs off: this node has no NATS (set NATS_URL to consume ${subjects.jobsWildcard})`);
        return;
      }
      if (!runtime.store) throw new UnavailableError("Durable jobs need the store (their exactly-once record is the jobs table)");
      const { broker, logger } = this;
      const { ackWaitMs, maxAttempts, concurrency, backoffMs, duplicateWindowMs } = config.jobs;
      const policy = new JobPolicy({ maxAttempts, backoff: { initialMs: backoffMs, maxMs: Math.max(MAX_BACKOFF_MS, backoffMs), factor: 2 } });
      const connection = await connectNats(config.nats.url, `core-jobs-${config.nodeId}`);
      nc = connection;
      const open = async () => {
        const jsm = await connection.jetstreamManager();
        await ensureJobsStream(jsm, { subjects, duplicateWindowMs });
        await ensureJobsConsumer(jsm, { subjects, ackWaitMs, maxDeliver: policy.maxDeliver });
        return connection.jetstream().consumers.get(subjects.jobsStream, JOBS_CONSUMER);
      };
      // Refused here, at start, with the reason: a node that cannot take jobs must not look as if it did.
      const consumer = await open().catch(async (err: unknown) => {
        await connection.close();
        nc = undefined;
        throw err;
      });

      const auditor = new EdgeAuditor(AuditLog.of(runtime.store), new Set(["circle.consult"]));
      const handler = new JobHandler({
        nodeId: config.nodeId,
        subjects,
        store: new JobStore(runtime.store),
        policy,
        heartbeatMs: Math.max(100, Math.floor(ackWaitMs / 3)),
        authenticate: (credential) => authenticatorOf(runtime).authenticate(credential),
        async consult(request, { jobId, principal }) {
          try {
            return await broker.call<Consultation, typeof request>("circle.consult", request, {
              meta: { principal, source: "nats", requestId: jobId },
              timeout: (request.timeoutMs ?? DEFAULT_CONSULT_TIMEOUT_MS) + CALL_MARGIN_MS,
            });
          } catch (err) {
            throw toCoreError(err);
          }
        },
        publish(subject, data, headers) {
          const h = headers ? natsHeaders() : undefined;
          for (const [name, value] of headers ?? []) h!.append(name, value);
          connection.publish(subject, data, h ? { headers: h } : undefined);
        },
        logger,
        onSettled: (s) =>
          auditor.record({
            action: "circle.consult",
            principal: s.principal,
            target: null,
            source: "nats:jobs",
            requestId: s.jobId,
            outcome: s.outcome === "completed" ? "ok" : outcomeOf(s.error ?? {}),
          }),
      });
      let first = true;
      worker = new JobWorker({
        // The first pull uses the consumer checked above; after a failure the stream and consumer are made again (a NATS restart without its data loses them).
        consumer: () => (first ? ((first = false), Promise.resolve(consumer)) : open()),
        handle: (delivery) => handler.handle(delivery),
        concurrency,
        logger,
      });
      worker.start();
      void (async () => {
        for await (const s of connection.status()) {
          if (s.type === "disconnect") logger.warn("Durable jobs: disconnected from NATS; reconnecting");
          else if (s.type === "reconnect") logger.info("Durable jobs: reconnected to NATS");
        }
      })();
      logger.info(
        `Durable jobs: ${subjects.jobsStream} (${subjects.jobsWildcard}) through consumer ${JOBS_CONSUMER}, ${concurrency} at once; ` +
          `ack wait ${ackWaitMs} ms, ${maxAttempts} attempts, dead letters on ${subjects.deadLetter}, events on ${subjects.eventsWildcard}`,
      );
    },

    async stopped(this: Self) {
      if (worker) {
        // Half the shutdown time for running jobs; the rest are handed back to the other nodes at once.
        const handedBack = await worker.stop(Math.floor(config.shutdownTimeoutMs / 2));
        if (handedBack > 0) this.logger.warn(`Durable jobs: ${handedBack} running job(s) handed back for another node to run`);
        worker = undefined;
      }
      await nc?.drain().catch(() => nc?.close());
      nc = undefined;
    },
  };
}
