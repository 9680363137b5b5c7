import { ServiceBroker } from "moleculer";
import { GaugeSeries, HistogramSeries, gaugeMetric, histogramMetric } from "../../../mixins/metric-series";

/**
 * Series bound to their labels against Moleculer's own metric methods: the same
 * operations on two registries, one through the series (with Moleculer's own calls
 * mixed in, as other code on the same series makes them) and one through
 * Moleculer only, give the same snapshots, timestamps aside.
 */

const registry = (quantiles: boolean) => {
  const broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [], ...(quantiles ? {} : { defaultQuantiles: null as unknown as number[] }) } });
  // (Moleculer's typings of a histogram's options omit `rate`.)
  const time = { name: "t.time", type: "histogram" as const, labelNames: ["a", "b"], buckets: true, quantiles: true, rate: true };
  broker.metrics.register(time);
  broker.metrics.register({ name: "t.total", type: "counter", labelNames: ["a"], rate: true });
  broker.metrics.register({ name: "t.level", type: "gauge", labelNames: ["a"] });
  return broker.metrics;
};

const snapshot = (metrics: ServiceBroker["metrics"]) =>
  metrics.list({ includes: "t.**" }).map((m) => ({
    name: m.name,
    values: (m.values as unknown as Array<Record<string, unknown>>).map(({ timestamp: _t, rate: _r, ...rest }) => rest),
  }));

describe.each([false, true])("HistogramSeries (quantiles: %s)", (quantiles) => {
  it("observes as HistogramMetric.observe does, beside Moleculer's own observations and resets", () => {
    const ours = registry(quantiles);
    const theirs = registry(quantiles);
    const labels = { a: "x", b: null };
    // Another series object on the same item (null and undefined hash alike).
    const series = [new HistogramSeries(histogramMetric(ours, "t.time"), labels), new HistogramSeries(histogramMetric(ours, "t.time"), { a: "x", b: undefined })];
    const values = [0.2, 1, 1.5, 3, 7, 26, 99, 100, 101, 5000, 10_000, 20_000, NaN, 0, -1, 42];
    values.forEach((v, i) => {
      if (i % 5 === 3) ours.observe("t.time", v, labels);
      else series[i % 2]!.observe(v, Date.now());
      theirs.observe("t.time", v, labels);
      if (i === 9) {
        expect(snapshot(ours)).toEqual(snapshot(theirs));
        ours.reset("t.time", labels);
        theirs.reset("t.time", labels);
      }
    });
    expect(snapshot(ours)).toEqual(snapshot(theirs));
    const [time] = snapshot(theirs);
    expect(time!.values[0]).toMatchObject({ count: 6, buckets: { 1: 2, 5: 2, 50: 3, 10000: 4 } });
  });
});

describe("GaugeSeries", () => {
  it("adds and sets as GaugeMetric does, and finds its item again after the metric is cleared", () => {
    const ours = registry(false);
    const theirs = registry(false);
    const total = new GaugeSeries(gaugeMetric(ours, "t.total"), { a: "x" });
    const level = new GaugeSeries(gaugeMetric(ours, "t.level"), { a: "x" });
    expect(level.exists()).toBe(false);
    for (let i = 0; i < 3; i++) {
      total.add(1, Date.now());
      theirs.increment("t.total", { a: "x" });
    }
    ours.increment("t.total", { a: "x" }, 2);
    theirs.increment("t.total", { a: "x" }, 2);
    total.add(0, Date.now());
    theirs.increment("t.total", { a: "x" }, 0);
    level.set(4, Date.now());
    level.add(-1, Date.now());
    theirs.set("t.level", 4, { a: "x" });
    theirs.decrement("t.level", { a: "x" });
    expect(level.exists()).toBe(true);
    expect(snapshot(ours)).toEqual(snapshot(theirs));
    expect(ours.getMetric("t.total")!.get({ a: "x" })!.value).toBe(5);

    ours.getMetric("t.total")!.clear();
    theirs.getMetric("t.total")!.clear();
    total.add(1, Date.now());
    theirs.increment("t.total", { a: "x" });
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  it("refuses a metric that is not registered as a gauge or counter", () => {
    const metrics = registry(false);
    expect(() => gaugeMetric(metrics, "t.time")).toThrow(TypeError);
    expect(() => histogramMetric(metrics, "t.none")).toThrow(TypeError);
  });
});
