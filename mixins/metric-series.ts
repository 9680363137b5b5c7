import { MetricTypes, type MetricRegistry } from "moleculer";
import { HistogramBucketCounts, type BucketValues } from "./histogram-bucket-counts";

/** Label values of one series, as Moleculer's registry takes them. */
export type SeriesLabels = Record<string, unknown>;

/** What Moleculer 0.15 keeps per series of a gauge or counter (metrics/types/gauge.js). */
interface GaugeItem {
  value: number;
  timestamp: number;
  rate?: { update(value: number): void };
}

/** What Moleculer 0.15 keeps per series of a histogram (metrics/types/histogram.js). */
interface HistogramItem {
  sum: number;
  count: number;
  lastValue: number | null;
  timestamp: number;
  bucketValues?: BucketValues;
  quantileValues?: { add(value: number): void };
  rate?: { update(value: number): void };
}

/**
 * One series of a Moleculer gauge or counter (the metric and fixed label
 * values). Its first update goes through the metric (which creates the item,
 * its rate and its labels exactly as Moleculer does); later ones change the
 * stored item in place, as GaugeMetric.set does, without hashing the labels
 * and looking them up again (~0.15 µs an update, several a call or message).
 */
export class GaugeSeries {
  private item: GaugeItem | undefined;
  /** The metric's map the item was found in: clear() replaces it, and the item with it. */
  private values: unknown;

  constructor(
    private readonly metric: MetricTypes.Gauge,
    readonly labels: SeriesLabels,
  ) {}

  /** Adds delta (negative to decrease); now is the item's new timestamp (Date.now()). */
  add(delta: number, now: number): void {
    const item = this.current();
    if (item === undefined) {
      this.metric.increment(this.labels, delta);
      this.resolve();
    } else this.store(item, item.value + delta, now);
  }

  set(value: number, now: number): void {
    const item = this.current();
    if (item === undefined) {
      this.metric.set(value, this.labels);
      this.resolve();
    } else this.store(item, value, now);
  }

  /** Whether the series exists in the registry (whoever created it). */
  exists(): boolean {
    return this.current() !== undefined || this.resolve();
  }

  /** The item resolved earlier, unless the metric was cleared since. */
  private current(): GaugeItem | undefined {
    return this.values === this.metric.values ? this.item : undefined;
  }

  /** What GaugeMetric.set does to an existing item, without finding it again. */
  private store(item: GaugeItem, value: number, now: number): void {
    if (value === item.value) return;
    item.value = value;
    item.timestamp = now;
    if (item.rate) item.rate.update(value);
    this.metric.changed(value, this.labels);
  }

  private resolve(): boolean {
    this.values = this.metric.values;
    this.item = (this.metric.get(this.labels) ?? undefined) as GaugeItem | undefined;
    return this.item !== undefined;
  }
}

/**
 * One series of a Moleculer histogram; like GaugeSeries, resolved at its first
 * observation. Its bucket counts are kept by HistogramBucketCounts.
 */
export class HistogramSeries {
  private item: HistogramItem | undefined;
  private values: unknown;
  private counts: HistogramBucketCounts | undefined;

  constructor(
    private readonly metric: MetricTypes.Histogram,
    readonly labels: SeriesLabels,
  ) {}

  /** Records one observation, as HistogramMetric.observe does. */
  observe(value: number, now: number): void {
    const item = this.item;
    const metric = this.metric;
    if (item === undefined || this.values !== metric.values) {
      metric.observe(value, this.labels);
      this.values = metric.values;
      this.item = (metric.get(this.labels) ?? undefined) as HistogramItem | undefined;
      return;
    }
    item.timestamp = now;
    item.sum += value;
    item.count++;
    item.lastValue = value;
    const bucketValues = item.bucketValues;
    if (bucketValues) {
      let counts = this.counts;
      // A reset gives the item new bucketValues: counts start again from them.
      if (counts === undefined || bucketValues !== counts.view) this.counts = counts = HistogramBucketCounts.of(item, metric.buckets);
      counts.observe(value);
    }
    if (item.quantileValues) item.quantileValues.add(value);
    if (item.rate) item.rate.update(item.count);
    metric.changed(value, this.labels);
  }
}

/** A registered gauge or counter of the registry (a counter is a gauge that only goes up). */
export function gaugeMetric(registry: MetricRegistry, name: string): MetricTypes.Gauge {
  const metric = registry.getMetric(name);
  if (!(metric instanceof MetricTypes.Gauge)) throw new TypeError(`Metric ${name} is not a registered gauge or counter`);
  return metric;
}

/** A registered histogram of the registry. */
export function histogramMetric(registry: MetricRegistry, name: string): MetricTypes.Histogram {
  const metric = registry.getMetric(name);
  if (!(metric instanceof MetricTypes.Histogram)) throw new TypeError(`Metric ${name} is not a registered histogram`);
  return metric;
}
