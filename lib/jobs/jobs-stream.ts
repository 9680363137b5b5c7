import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type NatsError,
  type StreamConfig,
} from "nats";
import { UnavailableError } from "../errors";
import type { CoreSubjects } from "../transport/subjects";

/** The durable pull consumer every node shares: each job goes to one node at a time. */
export const JOBS_CONSUMER = "workers";

/** The largest job message the stream takes: what POST /api/v1/consult reads (a publisher gets an error for more). */
export const MAX_JOB_BYTES = 256 * 1024;

export interface JobsStreamOptions {
  subjects: CoreSubjects;
  /** JetStream drops a second message with the same Nats-Msg-Id within this window. */
  duplicateWindowMs: number;
}

export interface JobsConsumerOptions {
  subjects: CoreSubjects;
  /** How long a delivered job may go without an ack or a heartbeat before it is delivered again. */
  ackWaitMs: number;
  /** JobPolicy.maxDeliver: the attempts, plus one delivery that dead-letters a job whose last attempt never reported. */
  maxDeliver: number;
}

// JetStream API error codes (nats-server's errors.json).
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_ALREADY_EXISTS = 10148;

function apiCode(err: unknown): number | undefined {
  return (err as NatsError | undefined)?.api_error?.err_code;
}

export function jobsStreamConfig(o: JobsStreamOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: o.subjects.jobsStream,
    subjects: [o.subjects.jobsWildcard],
    // A job leaves the stream once acknowledged or terminated; its history is the jobs table.
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(o.duplicateWindowMs),
    max_msg_size: MAX_JOB_BYTES,
  };
}

export function jobsConsumerConfig(o: JobsConsumerOptions): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: JOBS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(o.ackWaitMs),
    max_deliver: o.maxDeliver,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    // Every subject of the stream: a job on an unknown subject is dead-lettered with a message saying where consult jobs go, not left behind.
    filter_subject: o.subjects.jobsWildcard,
  };
}

/**
 * Creates the jobs stream, or brings an existing one to this node's
 * configuration. Every node does this at start, several at once: creating
 * an identical stream is a no-op for JetStream, and a node that loses the
 * race to a differing configuration updates it (the last node started wins,
 * as with any rolling change of settings).
 */
export async function ensureJobsStream(jsm: JetStreamManager, o: JobsStreamOptions): Promise<void> {
  const config = jobsStreamConfig(o);
  try {
    await jsm.streams.add(config);
    return;
  } catch (err) {
    if (apiCode(err) !== STREAM_NAME_IN_USE) throw unavailable(`creating the JetStream stream ${config.name}`, err);
  }
  try {
    await jsm.streams.update(config.name, config);
  } catch (err) {
    throw unavailable(
      `updating the JetStream stream ${config.name} (a stream of that name exists with a configuration CORE cannot change, e.g. another retention policy; ` +
        `if it holds no job you need, delete it with \`nats stream rm ${config.name}\` and start the node again)`,
      err,
    );
  }
}

/** Creates the shared durable consumer, or updates it to this node's settings (ack wait, deliveries). */
export async function ensureJobsConsumer(jsm: JetStreamManager, o: JobsConsumerOptions): Promise<void> {
  const config = jobsConsumerConfig(o);
  try {
    await jsm.consumers.add(o.subjects.jobsStream, config);
    return;
  } catch (err) {
    // nats-server 2.9 updates an existing durable in place; 2.10 and later refuse a "create" that differs.
    if (apiCode(err) !== CONSUMER_ALREADY_EXISTS) throw unavailable(`creating the consumer ${JOBS_CONSUMER} of ${o.subjects.jobsStream}`, err);
  }
  try {
    await jsm.consumers.update(o.subjects.jobsStream, JOBS_CONSUMER, { ack_wait: config.ack_wait, max_deliver: config.max_deliver });
  } catch (err) {
    throw unavailable(`updating the consumer ${JOBS_CONSUMER} of ${o.subjects.jobsStream}`, err);
  }
}

function unavailable(what: string, err: unknown): UnavailableError {
  return new UnavailableError(`Durable jobs need JetStream: ${what} failed: ${(err as Error).message}. Run nats-server with JetStream enabled (-js).`, {
    cause: err,
  });
}
