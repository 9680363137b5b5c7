import type { Consultation } from "../circle/consultation";
import type { JobError } from "./job-store";

/** The events a job publishes, each on `<prefix>.events.<name>` (see CoreSubjects.event). */
export const JOB_EVENTS = {
  started: "jobs.started",
  completed: "jobs.completed",
  failed: "jobs.failed",
  dead: "jobs.dead",
} as const;

/** Fields every job event carries. */
interface JobEventBase {
  jobId: string;
  /** True when the job had no usable Nats-Msg-Id and CORE made its id (from its place in the stream). */
  idGenerated?: true;
  /** The node that published the event. */
  node: string;
  /** ISO time of the event. */
  at: string;
}

/** An attempt began on `node`. */
export interface JobStartedEvent extends JobEventBase {
  attempt: number;
  maxAttempts: number;
}

/** Published once per job, by the node that recorded the completion. */
export interface JobCompletedEvent extends JobEventBase {
  attempt: number;
  consultationId: string;
  principal: string;
  /** The consultation, as `circle.consult` answers it; left out (`resultOmitted`) when larger than a NATS message may be. */
  result?: Consultation;
  resultOmitted?: string;
}

/** An attempt failed; `willRetry` says whether another follows (after `retryInMs`). */
export interface JobFailedEvent extends JobEventBase {
  attempt: number;
  error: JobError;
  willRetry: boolean;
  retryInMs?: number;
}

/** The job was given up and its message published on `deadLetterSubject`. */
export interface JobDeadEvent extends JobEventBase {
  attempts: number;
  error: JobError;
  deadLetterSubject: string;
}
