import type { Consumer, ConsumerMessages, JsMsg } from "nats";
import type { Logger } from "../logger";
import { backoffDelay } from "../resilience/backoff";
import type { JobDelivery } from "./job-handler";
import type { JobHeaders } from "./job-message";

export interface JobWorkerOptions {
  /** The shared durable consumer: asked for at start and again whenever pulling from it failed (NATS restarted, the stream was deleted). */
  consumer(): Promise<Consumer>;
  handle(delivery: JobDelivery): Promise<void>;
  /** Jobs this node runs at once; it pulls no more than it has room for, so none waits here while its ack wait runs. */
  concurrency: number;
  logger: Logger;
  /** How long one pull waits for jobs before the next (nats.js takes 1 s at least). */
  pullExpiresMs?: number;
}

/** How a pull waits between failures: soon after a blip, every 5 s during an outage. */
const PULL_RETRY = { initialMs: 250, maxMs: 5_000, factor: 2 };

/** nats.js's message as the handler reads it. */
export function jobDelivery(msg: JsMsg): JobDelivery {
  const headers: Array<[string, string]> = [];
  for (const [name, values] of msg.headers ?? []) for (const value of values) headers.push([name, value]);
  return {
    subject: msg.subject,
    data: msg.data,
    headers: headers as JobHeaders,
    deliveryCount: msg.info.deliveryCount,
    streamSequence: msg.info.streamSequence,
    storedAtMs: Math.floor(msg.info.timestampNanos / 1e6),
    async ack() {
      await msg.ackAck({ timeout: 5_000 });
    },
    nak: (delayMs) => msg.nak(delayMs),
    term: () => msg.term(),
    working: () => msg.working(),
  };
}

/**
 * Pulls jobs from the durable consumer and runs up to `concurrency` of them
 * at once. Each pull asks for exactly the free slots, so a job is never held
 * here unstarted while its ack wait runs out (it would be redelivered to
 * another node and run twice).
 */
export class JobWorker {
  private readonly inFlight = new Map<JsMsg, Promise<void>>();
  private stopping = false;
  private batch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  /** Resolves when stop() is called: ends any wait of the pull loop at once. */
  private readonly stopped: Promise<void>;
  private signalStop!: () => void;

  constructor(private readonly o: JobWorkerOptions) {
    this.stopped = new Promise((r) => (this.signalStop = r));
  }

  /** Jobs running on this node now. */
  get running(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.loop ??= this.pullLoop();
  }

  /**
   * Stops pulling and waits up to `graceMs` for the running jobs; any still
   * running then is handed back (nak) so another node takes it at once
   * instead of after the ack wait. Returns how many were handed back.
   */
  async stop(graceMs: number): Promise<number> {
    this.stopping = true;
    this.signalStop();
    this.slotFreed?.();
    await this.batch?.close().catch(() => undefined);
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), graceOver]);
    clearTimeout(timer);
    const left = [...this.inFlight.keys()];
    for (const msg of left) msg.nak();
    return left.length;
  }

  private async pullLoop(): Promise<void> {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.freeSlot();
        if (this.stopping) break;
        consumer ??= await this.o.consumer();
        const batch = await consumer.fetch({ max_messages: this.o.concurrency - this.inFlight.size, expires: Math.max(1_000, this.o.pullExpiresMs ?? 5_000) });
        this.batch = batch;
        if (this.stopping) await batch.close();
        for await (const msg of batch) this.dispatch(msg);
        if (failures > 0) this.o.logger.info("Jobs: pulling from the jobs stream again");
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures++;
        consumer = undefined;
        const delayMs = backoffDelay(failures, PULL_RETRY);
        const say = `Jobs: pulling from the jobs stream failed (${(err as Error).message}); trying again in ${delayMs} ms`;
        if (failures === 1) this.o.logger.warn(say);
        else this.o.logger.debug(say);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, delayMs))), this.stopped]);
        clearTimeout(timer);
      } finally {
        this.batch = undefined;
      }
    }
  }

  /** Resolves once fewer than `concurrency` jobs run (or the worker stops). */
  private async freeSlot(): Promise<void> {
    while (!this.stopping && this.inFlight.size >= this.o.concurrency) {
      await new Promise<void>((r) => (this.slotFreed = r));
    }
  }

  private dispatch(msg: JsMsg): void {
    const run = this.o
      .handle(jobDelivery(msg))
      .catch((err: unknown) => this.o.logger.error(`Jobs: a job failed unexpectedly: ${(err as Error).message}`))
      .finally(() => {
        this.inFlight.delete(msg);
        const wake = this.slotFreed;
        this.slotFreed = undefined;
        wake?.();
      });
    this.inFlight.set(msg, run);
  }
}
