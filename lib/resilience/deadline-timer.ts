/**
 * Deadlines for many calls on one coarse timer. A `setTimeout` per call (what
 * Moleculer's timeout does) costs about a tenth of the throughput of a busy
 * node (benchmarks/actor-call); here each call costs a Set insertion, and one
 * interval, alive only while deadlines are pending, fires every expired one
 * within `resolutionMs`.
 */
export class DeadlineTimer {
  private readonly buckets = new Map<number, Set<() => void>>();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The last bucket already fired. */
  private done: number;

  constructor(private readonly resolutionMs = 10, private readonly now: () => number = Date.now) {
    this.done = Math.floor(now() / resolutionMs);
  }

  /** Calls `onExpire` once `deadline` (epoch ms) has passed; the returned function cancels it. */
  schedule(deadline: number, onExpire: () => void): () => void {
    // A deadline in a bucket already fired goes to the next one.
    const key = Math.max(Math.ceil(deadline / this.resolutionMs), this.done + 1);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new Set()));
    bucket.add(onExpire);
    this.pending++;
    if (!this.timer) {
      this.done = Math.max(this.done, Math.floor(this.now() / this.resolutionMs) - 1);
      this.timer = setInterval(() => this.tick(), this.resolutionMs);
      this.timer.unref();
    }
    const b = bucket;
    return () => {
      if (b.delete(onExpire)) {
        this.pending--;
        if (b.size === 0) this.buckets.delete(key);
      }
    };
  }

  get size(): number {
    return this.pending;
  }

  private tick(): void {
    const current = Math.floor(this.now() / this.resolutionMs);
    for (let key = this.done + 1; key <= current; key++) {
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      this.buckets.delete(key);
      for (const fire of bucket) {
        this.pending--;
        fire();
      }
    }
    this.done = current;
    if (this.pending === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
