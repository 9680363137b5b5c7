export interface GroupCommitOptions {
  /** The most items one batch writes; 256. */
  maxBatch?: number;
  /** Batches written at the same time; 4. */
  maxInFlight?: number;
}

interface Queued<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Writes items in batches, each batch in one statement: one round trip and
 * one commit (one WAL flush) for all the items that arrived while the
 * batches before them were being written. An item arriving when fewer than
 * `maxInFlight` batches are on their way is written at once, alone: nothing
 * waits for a batch to fill. Under load the batches grow instead of the
 * queue, so the rate of writes is no longer capped by the commits a pool of
 * connections can make one row at a time (PostgreSQL, at about 1 600
 * consultations a second, fell behind that way and held every answer for
 * ~200 ms every second and a half: benchmarks/compare).
 *
 * Each `write` resolves once its batch is committed. A batch that fails is
 * written again item by item, so one bad item fails alone.
 */
export class GroupCommit<T> {
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly queue: Array<Queued<T>> = [];
  private inFlight = 0;

  constructor(
    private readonly writeBatch: (items: readonly T[]) => Promise<void>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxInFlight = options.maxInFlight ?? 4;
    if (!(this.maxBatch >= 1) || !(this.maxInFlight >= 1)) throw new RangeError("GroupCommit: maxBatch and maxInFlight must be >= 1");
  }

  /** Items waiting for a batch (not yet on their way). */
  get waiting(): number {
    return this.queue.length;
  }

  write(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.next();
      });
    }
  }

  private async commit(batch: ReadonlyArray<Queued<T>>): Promise<void> {
    try {
      await this.writeBatch(batch.map((q) => q.item));
      for (const q of batch) q.resolve();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // One bad item must not fail the others: each again on its own, with its own outcome.
      await Promise.all(batch.map((q) => this.writeBatch([q.item]).then(q.resolve, q.reject)));
    }
  }
}
