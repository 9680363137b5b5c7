import fc from "fast-check";
import { leastSquares, MemoryTrend } from "../../../../lib/monitors/memory-trend";

const MB = 1024 * 1024;
const T0 = 1_767_000_000_000; // epoch ms: the fit must not lose precision on them

/** Points every `stepMs` from T0, bytes from `f(i)`. */
function series(n: number, f: (i: number) => number, stepMs = 1_000) {
  return Array.from({ length: n }, (_, i) => ({ at: T0 + i * stepMs, bytes: f(i) }));
}

function trendOf(points: Array<{ at: number; bytes: number }>, options = {}) {
  const t = new MemoryTrend({ window: 24, minSamples: 5, minFit: 0.5, ...options });
  for (const p of points) t.add(p);
  return t;
}

describe("leastSquares", () => {
  it("finds the slope of points on a line, in bytes per second, with a perfect fit", () => {
    const fit = leastSquares(series(10, (i) => 100 * MB + i * 2 * MB, 500))!;
    expect(fit.slope).toBeCloseTo(4 * MB, 0); // 2 MB every 0.5 s
    expect(fit.r2).toBeCloseTo(1, 10);
  });

  it("has nothing to say about one point, or points at one instant", () => {
    expect(leastSquares([{ at: T0, bytes: 1 }])).toBeUndefined();
    expect(leastSquares([{ at: T0, bytes: 1 }, { at: T0, bytes: 5 }])).toBeUndefined();
  });

  it("recovers any rising line's slope (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50_000_000 }), fc.integer({ min: 0, max: 2_000_000_000 }), fc.integer({ min: 50, max: 60_000 }), (slope, base, stepMs) => {
        const fit = leastSquares(series(12, (i) => base + (slope * i * stepMs) / 1000, stepMs))!;
        expect(Math.abs(fit.slope - slope) / slope).toBeLessThan(1e-6);
      }),
    );
  });
});

describe("MemoryTrend", () => {
  it("predicts the seconds to the limit from the latest sample at the window's slope", () => {
    // 100 MB + 1 MB/s; the latest is 109 MB; 1000 MB is 891 s away.
    const e = trendOf(series(10, (i) => 100 * MB + i * MB)).estimate(1000 * MB);
    expect(e.slopeBytesPerSec).toBeCloseTo(MB, 0);
    expect(e.secondsToLimit).toBeCloseTo(891, 6);
    expect(e.samples).toBe(10);
  });

  it("predicts nothing from fewer samples than minSamples", () => {
    const e = trendOf(series(4, (i) => i * MB)).estimate(100 * MB);
    expect(e.secondsToLimit).toBeNull();
    expect(e.slopeBytesPerSec).toBeCloseTo(MB, 0);
    expect(trendOf([]).estimate(1).secondsToLimit).toBeNull();
  });

  it("predicts nothing when flat or falling", () => {
    expect(trendOf(series(10, () => 50 * MB)).estimate(100 * MB)).toMatchObject({ slopeBytesPerSec: 0, secondsToLimit: null });
    const falling = trendOf(series(10, (i) => 90 * MB - i * MB)).estimate(100 * MB);
    expect(falling.slopeBytesPerSec).toBeLessThan(0);
    expect(falling.secondsToLimit).toBeNull();
  });

  it("predicts nothing from noise around a level (GC saw-teeth), though its slope is slightly positive", () => {
    const noisy = [0, 8, 1, 9, 0, 7, 2, 9, 1, 8, 0, 9].map((d, i) => ({ at: T0 + i * 1_000, bytes: 200 * MB + d * MB }));
    const e = trendOf(noisy).estimate(250 * MB);
    expect(e.slopeBytesPerSec).toBeGreaterThan(0);
    expect(e.secondsToLimit).toBeNull();
  });

  it("says 0 s once the limit is passed while still growing", () => {
    expect(trendOf(series(6, (i) => 95 * MB + i * 2 * MB)).estimate(100 * MB).secondsToLimit).toBe(0);
  });

  it("forgets samples older than the window: a leak that stopped stops being predicted", () => {
    const t = trendOf(series(10, (i) => 100 * MB + i * 10 * MB), { window: 6 });
    expect(t.estimate(1000 * MB).secondsToLimit).not.toBeNull();
    for (let i = 10; i < 16; i++) t.add({ at: T0 + i * 1_000, bytes: 190 * MB });
    expect(t.samples).toBe(6);
    expect(t.estimate(1000 * MB)).toMatchObject({ slopeBytesPerSec: 0, secondsToLimit: null });
  });

  it("refuses a window that cannot hold a line", () => {
    expect(() => new MemoryTrend({ window: 1 })).toThrow(/window must be an integer of at least 2/);
  });
});
