import type { Alert } from "../../../../lib/monitors/alert";
import { levelKey, MemoryWatch, PREDICTION_KEY, type MemorySample } from "../../../../lib/monitors/memory-watch";

const MB = 1024 * 1024;
const T0 = 1_767_000_000_000;
const RSS_LIMIT = 500 * MB;
const HEAP_LIMIT = 4096 * MB;

function sample(i: number, rssMb: number, heapMb = 50): MemorySample {
  return { at: T0 + i * 200, heapUsedBytes: heapMb * MB, heapLimitBytes: HEAP_LIMIT, rssBytes: rssMb * MB, rssLimitBytes: RSS_LIMIT };
}

const label = (a: Alert) => `${a.state} ${a.key}`;

describe("MemoryWatch: a synthetic leak", () => {
  it("predicts exhaustion first, raises the levels in order, sheds at critical, and resolves everything after the release", () => {
    const watch = new MemoryWatch({ nodeID: "n1", window: 10, horizonSec: 600 });
    const seen: Array<{ alert: Alert; rssMb: number }> = [];
    const shedding: boolean[] = [];
    let i = 0;
    const step = (rssMb: number) => {
      const { status, alerts } = watch.observe(sample(i++, rssMb));
      shedding.push(status.shedding);
      for (const alert of alerts) seen.push({ alert, rssMb });
      return status;
    };
    for (let k = 0; k < 5; k++) step(150); // a steady baseline: 30 %
    expect(seen).toEqual([]);
    // Leaks 10 MB per sample (50 MB/s) up to 490 MB (98 %).
    for (let mb = 160; mb <= 490; mb += 10) step(mb);
    const status = watch.status!;
    expect(status).toMatchObject({ nodeID: "n1", level: "emergency", limitedBy: "rss", trendOf: "rss", shedding: true });
    expect(status.raisedAlerts).toEqual([PREDICTION_KEY, ...["warning", "high", "critical", "emergency"].map((l) => `memory.level.${l}`)]);
    expect(status.slopeBytesPerSec).toBeCloseTo(50 * MB, -3);
    expect(status.predictedExhaustionSec).toBeCloseTo(10 / 50, 1);

    expect(seen.map((s) => label(s.alert))).toEqual([
      `raised ${PREDICTION_KEY}`,
      `raised ${levelKey("warning")}`,
      `raised ${levelKey("high")}`,
      `raised ${levelKey("critical")}`,
      `raised ${levelKey("emergency")}`,
    ]);
    const prediction = seen[0]!;
    expect(prediction.rssMb).toBeLessThan(0.7 * 500); // well before the limit, before even the warning level
    expect(prediction.alert).toMatchObject({ monitor: "memory", severity: "high", nodeID: "n1", threshold: 600, details: { predictedExhaustionSec: expect.any(Number) } });
    expect(prediction.alert.value).toBeGreaterThan(0);
    expect(prediction.alert.message).toMatch(/^Memory of node n1 will reach its limit in about \d+ s at its current trend \(\+\d+\.\d MB\/min, RSS \d+ MB of 500 MB\)$/);
    expect(seen.slice(1).map((s) => s.alert.severity)).toEqual(["warning", "high", "critical", "emergency"]);
    const critical = seen[3]!.alert;
    expect(critical).toMatchObject({ state: "raised", threshold: 0.9, details: { shedding: true, level: "critical" } });
    expect(critical.message).toMatch(/^Memory of node n1 is at 9\d % of its limit \(RSS 4\d\d MB of 500 MB\): critical \(90 % or more\); new consults are refused$/);
    // Shedding began with the sample that reached 90 %.
    const firstShed = shedding.indexOf(true);
    expect(5 + (450 - 160) / 10).toBe(firstShed);

    // The leak is released: back to 160 MB and steady.
    seen.length = 0;
    step(160);
    expect(seen.map((s) => label(s.alert))).toEqual([
      `resolved ${levelKey("emergency")}`,
      `resolved ${levelKey("critical")}`,
      `resolved ${levelKey("high")}`,
      `resolved ${levelKey("warning")}`,
    ]);
    expect(watch.status).toMatchObject({ level: "normal", shedding: false, predictedExhaustionSec: null });
    expect(seen[1]!.alert.message).toMatch(/below critical again \(under 87 %\); new consults are taken again$/);
    // The prediction is resolved once it has stayed away for a window's samples (10, the release's included).
    for (let k = 0; k < 8; k++) step(160);
    expect(seen.some((s) => s.alert.key === PREDICTION_KEY)).toBe(false);
    step(160);
    const resolved = seen.find((s) => s.alert.key === PREDICTION_KEY)!.alert;
    expect(resolved).toMatchObject({ state: "resolved", severity: "high" });
    expect(watch.status!.raisedAlerts).toEqual([]);
    expect(resolved.message).toMatch(/^Memory of node n1 is no longer predicted to reach its limit within 10 min \(no growth, /);
  });

  it("measures the heap against V8's limit too, and takes the higher ratio", () => {
    const watch = new MemoryWatch({ nodeID: "n1", window: 10, horizonSec: 600 });
    const { status, alerts } = watch.observe(sample(0, 100, 3900)); // heap 95 %, RSS 20 %
    expect(status).toMatchObject({ limitedBy: "heap", level: "emergency", shedding: true });
    expect(status.usedRatio).toBeCloseTo(3900 / 4096, 6);
    expect(alerts.map(label)).toEqual(["warning", "high", "critical", "emergency"].map((l) => `raised memory.level.${l}`));
    expect(alerts[0]!.message).toMatch(/\(heap 3900 MB of 4096 MB\)/);
  });

  it("predicts from whichever measure reaches its limit first", () => {
    const watch = new MemoryWatch({ nodeID: "n1", window: 10, horizonSec: 600 });
    // RSS flat at 60 %; the heap grows 1 MB per 200 ms (5 MB/s) toward 4096 MB.
    let last;
    for (let k = 0; k < 12; k++) last = watch.observe(sample(k, 300, 3000 + k));
    expect(last!.status).toMatchObject({ limitedBy: "heap", trendOf: "heap" });
    expect(last!.status.predictedExhaustionSec).toBeCloseTo((4096 - 3011) / 5, 0);
    expect(last!.alerts.map(label)).toEqual([]); // raised once, earlier
  });

  it("does not flap the prediction: it is resolved only once exhaustion is 1.5 horizons away for a window of samples", () => {
    const watch = new MemoryWatch({ nodeID: "n1", window: 5, horizonSec: 300 });
    const labels: string[] = [];
    let k = 0;
    let mb = 100;
    // Samples a second apart, growing `rate` MB/s, against a 500 MB limit.
    const grow = (rate: number, samples: number) => {
      for (let n = 0; n < samples; n++, k++, mb += rate) labels.push(...watch.observe({ ...sample(0, mb), at: T0 + k * 1_000 }).alerts.map(label));
    };
    grow(1, 6); // about 400 s to go: beyond the horizon
    expect(labels).toEqual([]);
    grow(3, 6); // about 120 s
    expect(labels).toEqual([`raised ${PREDICTION_KEY}`]);
    grow(1.2, 10); // about 300-320 s: past the horizon, within 1.5 horizons
    expect(labels).toEqual([`raised ${PREDICTION_KEY}`]);
    grow(0.5, 9); // about 700 s, and for more than 5 samples
    expect(labels).toEqual([`raised ${PREDICTION_KEY}`, `resolved ${PREDICTION_KEY}`]);
  });

  it("stays quiet on a steady node", () => {
    const watch = new MemoryWatch({ nodeID: "n1", window: 24, horizonSec: 600 });
    const alerts = Array.from({ length: 60 }, (_, k) => watch.observe(sample(k, 200 + (k % 3), 40 + (k % 7))).alerts).flat();
    expect(alerts).toEqual([]);
    expect(watch.status).toMatchObject({ level: "normal", shedding: false, predictedExhaustionSec: null });
  });
});
