import type { ConsultRequest } from "../circle/consult-request";
import type { Consultation } from "../circle/consultation";
import { CoreError, InternalError, JobAttemptsExhaustedError } from "../errors";
import type { Logger } from "../logger";
import { backoffDelay } from "../resilience/backoff";
import type { AuthenticatedPrincipal } from "../security/principal";
import type { CoreSubjects } from "../transport/subjects";
import { deadLetterHeaders } from "./dead-letter";
import { JOB_EVENTS, type JobCompletedEvent, type JobDeadEvent, type JobFailedEvent, type JobStartedEvent } from "./job-events";
import { readJobMessage, type JobHeaders, type JobMessage } from "./job-message";
import type { JobPolicy } from "./job-policy";
import type { JobAttempt, JobError, JobStore } from "./job-store";

/** One delivery of a job message, as the handler needs it (lib/jobs/job-worker.ts adapts nats.js's JsMsg). */
export interface JobDelivery {
  subject: string;
  data: Uint8Array;
  headers: JobHeaders;
  /** 1 on the first delivery, 2 on the first redelivery, … */
  deliveryCount: number;
  streamSequence: number;
  /** When the stream stored the message, epoch ms. */
  storedAtMs: number;
  /** Acknowledges, waiting for the server to confirm. */
  ack(): Promise<void>;
  /** Asks for a redelivery after `delayMs`. */
  nak(delayMs: number): void;
  /** No redelivery, ever. */
  term(): void;
  /** Restarts the ack wait: the job is still being worked on. */
  working(): void;
}

/** How a job ended on this node, for the audit trail. */
export interface JobSettlement {
  jobId: string;
  principal: string | undefined;
  outcome: "completed" | "dead";
  error?: JobError;
}

export interface JobHandlerOptions {
  nodeId: string;
  subjects: CoreSubjects;
  store: Pick<JobStore, "begin" | "complete" | "fail" | "markDead" | "get">;
  policy: JobPolicy;
  /** How often a running job tells JetStream it is alive: well under the ack wait. */
  heartbeatMs: number;
  /** The credential's principal, or a 401 CoreError. */
  authenticate(credential: string | undefined): Promise<AuthenticatedPrincipal>;
  /** Runs the consult as the principal (`circle.consult`: RBAC and budgets apply); throws CoreErrors. */
  consult(request: ConsultRequest, context: { jobId: string; principal: AuthenticatedPrincipal }): Promise<Consultation>;
  /** Plain NATS publish (events, dead letters); may throw (e.g. a payload over the server's limit). */
  publish(subject: string, data: Uint8Array, headers?: JobHeaders): void;
  logger: Logger;
  onSettled?(settlement: JobSettlement): void;
  now?: () => number;
}

/** Retries of a store write that must not be lost (the completion), riding out a blip of the database. */
const STORE_WRITE = { tries: 4, policy: { initialMs: 200, maxMs: 2_000, factor: 2 } };

/** An error as a job's row and events keep it: with its data (which expert failed how, which field is invalid) when it has any. */
export function jobError(err: CoreError): JobError {
  return { code: err.code, message: err.message, status: err.status, ...(Object.keys(err.data).length > 0 ? { details: err.data } : {}) };
}

function asCoreError(err: unknown): CoreError {
  return err instanceof CoreError ? err : new InternalError("The job failed unexpectedly (see the node's log)", { cause: err });
}

/**
 * Runs one delivery of a job message to its end: each delivery is acked,
 * nak'ed with a delay, or terminated, and the job row says why.
 *
 * Exactly once: a job whose row says completed is acked without running;
 * otherwise the consult runs and its completion is recorded by one guarded
 * statement before the ack (a node dying before the ack leaves a row that
 * makes the redelivery a no-op; dying before the row leaves a job that runs
 * again elsewhere). Only the node whose statement recorded the completion
 * announces it.
 */
export class JobHandler {
  private readonly now: () => number;

  constructor(private readonly o: JobHandlerOptions) {
    this.now = o.now ?? Date.now;
  }

  async handle(d: JobDelivery): Promise<void> {
    const { o } = this;
    const job = readJobMessage(d, { streamSequence: d.streamSequence, storedAtMs: d.storedAtMs }, o.subjects.consultJob);
    const attempt: JobAttempt = { id: job.id, attempt: Math.min(d.deliveryCount, o.policy.maxAttempts), streamSeq: d.streamSequence, node: o.nodeId };
    const beat = setInterval(() => d.working(), o.heartbeatMs);
    beat.unref?.();
    try {
      if (job.invalid) return await this.giveUp(d, job, attempt, undefined, jobError(job.invalid));
      if (o.policy.exhausted(d.deliveryCount)) return await this.giveUp(d, job, attempt, undefined, await this.exhaustedError(job.id));
      const claim = await o.store.begin(attempt);
      if (claim.state === "completed") {
        o.logger.info(`Job ${job.id} is already completed (consultation ${claim.record.consultationId}); acknowledged without running it again`);
        return await d.ack();
      }
      if (claim.state === "dead") {
        const error = claim.record.error ?? { code: "UNKNOWN", message: "The job was dead-lettered" };
        return await this.giveUp(d, job, { ...attempt, attempt: claim.record.attempts }, claim.record.principal, error);
      }
      this.event<JobStartedEvent>(JOB_EVENTS.started, { ...this.base(job), attempt: attempt.attempt, maxAttempts: o.policy.maxAttempts });
      let principal: AuthenticatedPrincipal | undefined;
      let consultation: Consultation;
      try {
        principal = await o.authenticate(job.credential);
        consultation = await o.consult(job.request!, { jobId: job.id, principal });
      } catch (err) {
        return await this.attemptFailed(d, job, attempt, principal?.id, asCoreError(err));
      }
      await this.complete(d, job, attempt, principal, consultation);
    } catch (err) {
      if (o.policy.exhausted(d.deliveryCount)) return this.lastResort(d, job, err);
      // The store or NATS failed around the job, not the job itself: it comes back later (this counts as an attempt).
      const delayMs = o.policy.delayAfter(attempt.attempt);
      o.logger.error(`Job ${job.id}: attempt ${attempt.attempt} could not be carried through (${(err as Error).message}); redelivery in ${delayMs} ms`);
      d.nak(delayMs);
    } finally {
      clearInterval(beat);
    }
  }

  private async complete(d: JobDelivery, job: JobMessage, attempt: JobAttempt, principal: AuthenticatedPrincipal, consultation: Consultation): Promise<void> {
    const { o } = this;
    const recorded = await this.withRetries(() => o.store.complete({ ...attempt, consultationId: consultation.id, principal: principal.id }));
    if (recorded) {
      const event: JobCompletedEvent = { ...this.base(job), attempt: attempt.attempt, consultationId: consultation.id, principal: principal.id, result: consultation };
      if (!this.event(JOB_EVENTS.completed, event)) {
        const { result: _dropped, ...small } = event;
        this.event<JobCompletedEvent>(JOB_EVENTS.completed, { ...small, resultOmitted: `too large for one NATS message: read it with circle.get or GET /api/v1/consultations/${consultation.id}` });
      }
      o.logger.info(`Job ${job.id} completed on attempt ${attempt.attempt}: consultation ${consultation.id}`);
      o.onSettled?.({ jobId: job.id, principal: principal.id, outcome: "completed" });
    } else {
      o.logger.info(`Job ${job.id} was completed by another attempt meanwhile; consultation ${consultation.id} is not its result`);
    }
    await d.ack();
  }

  private async attemptFailed(d: JobDelivery, job: JobMessage, attempt: JobAttempt, principal: string | undefined, err: CoreError): Promise<void> {
    const { o } = this;
    const decision = o.policy.afterFailure(err, attempt.attempt);
    if (!decision.retry) return this.giveUp(d, job, attempt, principal, jobError(err));
    const error = jobError(err);
    if (!(await o.store.fail({ ...attempt, principal, error }))) {
      o.logger.info(`Job ${job.id}: attempt ${attempt.attempt} failed, but the job was settled by another attempt meanwhile`);
      return d.ack();
    }
    this.event<JobFailedEvent>(JOB_EVENTS.failed, { ...this.base(job), attempt: attempt.attempt, error, willRetry: true, retryInMs: decision.delayMs });
    o.logger.warn(`Job ${job.id}: attempt ${attempt.attempt} of ${o.policy.maxAttempts} failed (${error.code}: ${error.message}); next attempt in ${decision.delayMs} ms`);
    d.nak(decision.delayMs);
  }

  /** Dead-letters the job: row first (a completed job is never given up), then the dead-letter subject, the events, and no redelivery. */
  private async giveUp(d: JobDelivery, job: JobMessage, attempt: JobAttempt, principal: string | undefined, error: JobError): Promise<void> {
    const { o } = this;
    if (!(await o.store.markDead({ ...attempt, principal, error }))) {
      o.logger.info(`Job ${job.id} is completed; acknowledged instead of dead-lettered`);
      return d.ack();
    }
    const headers = deadLetterHeaders(d.headers, { jobId: job.id, attempts: attempt.attempt, code: error.code, message: error.message });
    o.publish(o.subjects.deadLetter, d.data, headers);
    this.event<JobFailedEvent>(JOB_EVENTS.failed, { ...this.base(job), attempt: attempt.attempt, error, willRetry: false });
    this.event<JobDeadEvent>(JOB_EVENTS.dead, { ...this.base(job), attempts: attempt.attempt, error, deadLetterSubject: o.subjects.deadLetter });
    o.logger.warn(`Job ${job.id} dead-lettered to ${o.subjects.deadLetter} after ${attempt.attempt} attempt(s): ${error.code}: ${error.message}`);
    o.onSettled?.({ jobId: job.id, principal, outcome: "dead", error });
    d.term();
  }

  /**
   * The delivery after the last attempt could not reach the store: JetStream
   * will not deliver the message again, so it goes to the dead-letter subject
   * now, unrecorded, rather than nowhere.
   */
  private lastResort(d: JobDelivery, job: JobMessage, err: unknown): void {
    const { o } = this;
    const message = `The job's last attempt did not finish, and it could not be recorded as dead: ${(err as Error).message}`;
    try {
      o.publish(o.subjects.deadLetter, d.data, deadLetterHeaders(d.headers, { jobId: job.id, attempts: o.policy.maxAttempts, code: JobAttemptsExhaustedError.code, message }));
      o.logger.error(`Job ${job.id} dead-lettered to ${o.subjects.deadLetter} without its row: ${message}`);
    } catch (publishErr) {
      o.logger.error(`Job ${job.id} is lost: ${message}; publishing it to ${o.subjects.deadLetter} failed too: ${(publishErr as Error).message}`);
    }
    d.term();
  }

  private async exhaustedError(jobId: string): Promise<JobError> {
    const max = this.o.policy.maxAttempts;
    const last = (await this.o.store.get(jobId))?.error;
    const before = last ? `; the attempt before it failed with ${last.code}: ${last.message}` : "";
    return jobError(new JobAttemptsExhaustedError(`The job's last attempt (${max} of ${max}) did not finish: its node stopped or stalled past the ack wait${before}`));
  }

  private async withRetries<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (attempt >= STORE_WRITE.tries) throw err;
        this.o.logger.warn(`Recording a job failed (${(err as Error).message}); trying again`);
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, STORE_WRITE.policy)));
      }
    }
  }

  private base(job: JobMessage): { jobId: string; idGenerated?: true; node: string; at: string } {
    return { jobId: job.id, ...(job.idGenerated ? { idGenerated: true as const } : {}), node: this.o.nodeId, at: new Date(this.now()).toISOString() };
  }

  /** Publishes an event; false when it could not be sent (never fails the job: events are a notification, the row is the record). */
  private event<T extends object>(name: string, payload: T): boolean {
    try {
      this.o.publish(this.o.subjects.event(name), Buffer.from(JSON.stringify(payload)));
      return true;
    } catch (err) {
      this.o.logger.warn(`Job event ${name} not published: ${(err as Error).message}`);
      return false;
    }
  }
}
