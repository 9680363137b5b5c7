import { ValidationError } from "../errors";
import type { Store } from "../store/store";
import type { AuditEntry } from "./audit-record";
import { AuditLog } from "./audit-log";

export interface AuditQueueOptions {
  /** Rows waiting beyond this are dropped (and reported): a database that stays down must not exhaust memory. 10 000. */
  maxPending?: number;
  /** Rows per transaction. 500. */
  maxBatch?: number;
  /** Told when rows could not be written or were dropped, with how many. */
  onLoss?: (err: Error, rows: number) => void;
  /**
   * How long the first row of a batch waits for others before the batch is written, in ms; 0: the next turn
   * of the event loop. 0 by default; a node sets CORE_AUDIT_FLUSH_MS (10).
   */
  flushMs?: number;
}

const queues = new WeakMap<Store, AuditQueue>();

/**
 * Group commit for the audit rows of edge requests (REST, NATS, MCP), which
 * the answer does not wait for. Appending one row costs five round trips
 * (begin, lock, read the chain's end, insert, commit) under a lock that
 * serialises every writer; rows queued while a batch is being written go into
 * the next batch together, so under load the cost per row falls to a
 * fraction of that and nothing queues behind the lock. Rows are written in
 * the order they were queued. One queue per store, so a node's edges share it
 * and the node flushes it before closing the store (`AuditQueue.flush`).
 *
 * With `flushMs`, a batch also waits that long for rows before its write
 * starts: at one request at a time each row would otherwise be a write of its
 * own, a round trip to PostgreSQL that costs the node's event loop a socket
 * write and a read between two requests (in a profile of MCP calls, one at a
 * time, writing to PostgreSQL's socket took 14 % of the node's CPU). The price:
 * a row reaches the table up to `flushMs` later, and a process killed without
 * its shutdown loses up to that much more of the rows it had queued.
 */
export class AuditQueue {
  private pending: AuditEntry[] = [];
  private writing: Promise<void> | undefined;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private flushMs: number;
  /** Starts the batch's write now, while it is waiting for `flushMs`. */
  private startNow: (() => void) | undefined;

  private onLoss: ((err: Error, rows: number) => void) | undefined;

  constructor(
    private readonly log: AuditLog,
    options: AuditQueueOptions = {},
  ) {
    this.onLoss = options.onLoss;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.flushMs = options.flushMs ?? 0;
  }

  /** The queue of a store, made on first use; the node makes it first, with `onLoss` writing to its log and its `flushMs`. */
  static of(store: Store, onLoss?: (err: Error, rows: number) => void, flushMs?: number): AuditQueue {
    let queue = queues.get(store);
    if (!queue) {
      queue = new AuditQueue(AuditLog.of(store));
      queues.set(store, queue);
    }
    queue.onLoss ??= onLoss;
    if (flushMs !== undefined) queue.flushMs = flushMs;
    return queue;
  }

  /** Writes what the store's queue holds, if it has one; for the node's shutdown, before the store closes. */
  static async flush(store: Store | undefined): Promise<void> {
    if (store) await queues.get(store)?.flush();
  }

  /** Rows queued and not yet written. */
  get size(): number {
    return this.pending.length;
  }

  /** Queues a row; false when it was dropped because the queue is full. Throws nothing. */
  enqueue(entry: AuditEntry): boolean {
    if (this.pending.length >= this.maxPending) {
      this.onLoss?.(new Error(`the audit queue holds ${this.maxPending} unwritten rows`), 1);
      return false;
    }
    // Frozen now: the row records when the request happened, not when its batch was written.
    this.pending.push(entry.at ? entry : { ...entry, at: new Date() });
    if (this.writing) {
      if (this.pending.length >= this.maxBatch) this.startNow?.();
      return true;
    }
    // At the earliest the next turn of the event loop: the answer leaves before the write starts.
    this.writing = new Promise<void>((resolve) => {
      const timer = this.flushMs > 0 ? setTimeout(resolve, this.flushMs) : undefined;
      const immediate = timer ? undefined : setImmediate(resolve);
      this.startNow = () => {
        clearTimeout(timer);
        clearImmediate(immediate);
        resolve();
      };
    }).then(() => {
      this.startNow = undefined;
      return this.drain();
    });
    return true;
  }

  /** Resolves once every row queued before the call has been written (or reported lost); a batch waiting for `flushMs` goes at once. */
  async flush(): Promise<void> {
    while (this.writing) {
      this.startNow?.();
      await this.writing;
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        await this.write(batch);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(batch: AuditEntry[]): Promise<void> {
    try {
      await this.log.appendMany(batch);
    } catch (err) {
      // One malformed row fails its whole batch before anything is written: the others still go in, one by one.
      if (err instanceof ValidationError && batch.length > 1) {
        for (const entry of batch) await this.write([entry]);
      } else this.onLoss?.(err as Error, batch.length);
    }
  }
}
