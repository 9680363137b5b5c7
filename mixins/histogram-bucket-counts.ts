/** Where a series' bucket counts sit on the view that replaces its bucketValues (not enumerable: snapshots skip it). */
const COUNTS = Symbol("core.bucketCounts");

/** A histogram item's per-bound counts, as Moleculer 0.15 keeps them: bound → observations <= bound. */
export type BucketValues = Record<number, number>;

/**
 * The bucket counts of one histogram series, in a form an observation updates
 * with one array write. Moleculer keeps them in an object keyed by the bounds
 * (1, 5, …, 10000): sparse integer keys, so V8 stores them as dictionary
 * elements, and its observe() adds 1 to every bound >= the value: ~0.6 µs an
 * observation, most of a request's metrics cost. Here an observation only counts
 * under the first bound that holds it, and the item's bucketValues becomes a view
 * whose properties (same keys, enumerable) add those up when read, which Moleculer
 * does only for a snapshot (a scrape). Writes through the view (Moleculer's own
 * observe() on the same series) still land: they move the bound's base.
 */
export class HistogramBucketCounts {
  /** Observations whose first bound holding them is bounds[i]. */
  private readonly firsts: Float64Array;
  /** What each bound held before this view, or was set to through it. */
  private readonly base: Float64Array;
  readonly view: BucketValues;

  private constructor(
    private readonly bounds: readonly number[],
    from: BucketValues,
  ) {
    this.firsts = new Float64Array(bounds.length);
    this.base = new Float64Array(bounds.length);
    const view: BucketValues = {};
    bounds.forEach((bound, i) => {
      this.base[i] = from[bound] ?? 0;
      Object.defineProperty(view, bound, {
        enumerable: true,
        configurable: true,
        get: () => this.base[i]! + this.upTo(i),
        set: (value: number) => {
          this.base[i] = value - this.upTo(i);
        },
      });
    });
    Object.defineProperty(view, COUNTS, { value: this });
    this.view = view;
  }

  /** The counts behind an item's bucketValues: its view's, or a new view put in its place. */
  static of(item: { bucketValues?: BucketValues }, bounds: readonly number[]): HistogramBucketCounts {
    const current = item.bucketValues!;
    const existing = (current as { [COUNTS]?: HistogramBucketCounts })[COUNTS];
    if (existing) return existing;
    const counts = new HistogramBucketCounts(bounds, current);
    item.bucketValues = counts.view;
    return counts;
  }

  /** Counts value under every bound >= it (none for NaN or above the last bound), as HistogramMetric.observe does. */
  observe(value: number): void {
    const bounds = this.bounds;
    const len = bounds.length;
    for (let i = 0; i < len; i++) {
      if (value <= bounds[i]!) {
        this.firsts[i]! += 1;
        return;
      }
    }
  }

  private upTo(i: number): number {
    let sum = 0;
    for (let j = 0; j <= i; j++) sum += this.firsts[j]!;
    return sum;
  }
}
