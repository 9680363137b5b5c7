import { ActorOverloadedError, DeadlineExceededError } from "../lib/errors";

export interface MailboxBounds {
  /** Messages handled at the same time. */
  concurrency: number;
  /** Messages allowed to wait beyond those; one more is refused with ActorOverloaded. */
  capacity: number;
}

export const DEFAULT_MAILBOX: MailboxBounds = { concurrency: 16, capacity: 256 };

interface Waiting {
  /** Hands the message its slot (already counted as running). */
  start: () => void;
  reject: (err: Error) => void;
  deadline: number | undefined;
}

/**
 * An actor's mailbox: bounded concurrency and a bounded queue. A message that
 * finds the queue full is refused at once with ActorOverloaded; one whose
 * deadline passes while it waits is dropped with DeadlineExceeded instead of
 * doing work nobody waits for any more.
 */
export class Mailbox {
  private active = 0;
  private readonly queue: Waiting[] = [];
  private idleWaiters: Array<() => void> = [];

  constructor(readonly actor: string, readonly bounds: MailboxBounds = DEFAULT_MAILBOX, private readonly now: () => number = Date.now) {
    if (!(bounds.concurrency >= 1) || !(bounds.capacity >= 0)) {
      throw new RangeError(`mailbox of ${actor}: concurrency must be >= 1 and capacity >= 0`);
    }
  }

  /** Messages waiting (not yet running). */
  get depth(): number {
    return this.queue.length;
  }

  /** Messages running now. */
  get running(): number {
    return this.active;
  }

  /**
   * Runs `handler` when a slot is free. A message that has to wait is dropped
   * once `maxWaitMs` (what remains of its caller's deadline) has passed.
   */
  run<T>(handler: () => Promise<T>, maxWaitMs?: number): Promise<T> {
    if (this.tryAcquire()) return this.runInSlot(handler);
    const deadline = maxWaitMs !== undefined && maxWaitMs > 0 ? this.now() + maxWaitMs : undefined;
    if (this.queue.length >= this.bounds.capacity) {
      return Promise.reject(
        new ActorOverloadedError(`${this.actor} is overloaded: ${this.active} running and ${this.queue.length} waiting (capacity ${this.bounds.capacity})`, {
          data: { actor: this.actor, running: this.active, waiting: this.queue.length, capacity: this.bounds.capacity },
        }),
      );
    }
    // The handler runs in a continuation of this promise, hence in the sender's async context, not in that of
    // the message whose end freed the slot (its log lines would carry the other request's trace id, see
    // mixins/trace-context); a promise keeps the context for free, unlike an AsyncResource per waiting message.
    return new Promise<void>((start, reject) => {
      this.queue.push({ start, reject, deadline });
    }).then(() => this.runInSlot(handler));
  }

  /**
   * Takes a free slot at once, when there is one and nothing waits: the
   * caller runs its message and must `release()` the slot when the message is
   * done. The fast path of `run` for a caller that settles the message in a
   * continuation of its own (one promise a message instead of two).
   */
  tryAcquire(): boolean {
    if (this.active >= this.bounds.concurrency || this.queue.length > 0) return false;
    this.active++;
    return true;
  }

  /** Frees a slot taken by `tryAcquire`, letting the next waiting message in. */
  release(): void {
    this.active--;
    this.next();
  }

  /** Resolves once nothing runs or waits (used when an actor stops). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses everything still waiting (the actor is going away). */
  rejectWaiting(err: Error): void {
    for (const waiting of this.queue.splice(0)) waiting.reject(err);
    this.checkIdle();
  }

  /** Runs `handler` in a slot already counted in `active`, and frees it when the handler settles. */
  private runInSlot<T>(handler: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = handler();
    } catch (err) {
      this.release();
      return Promise.reject(err);
    }
    return result.then(this.released, this.releasedThrowing) as Promise<T>;
  }

  // Made once per mailbox, not per message.
  private readonly released = <T>(value: T): T => {
    this.release();
    return value;
  };

  private readonly releasedThrowing = (err: unknown): never => {
    this.release();
    throw err;
  };

  private next(): void {
    while (this.active < this.bounds.concurrency && this.queue.length > 0) {
      const waiting = this.queue.shift()!;
      if (waiting.deadline !== undefined && this.now() >= waiting.deadline) {
        waiting.reject(new DeadlineExceededError(`deadline passed while waiting in ${this.actor}'s mailbox`, { data: { actor: this.actor } }));
        continue;
      }
      // Counted now: the message starts a microtask later, and the loop must not hand its slot out again.
      this.active++;
      waiting.start();
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.active === 0 && this.queue.length === 0 && this.idleWaiters.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
