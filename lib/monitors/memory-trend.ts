/** One measurement of a memory figure: when (ms since the epoch) and how many bytes. */
export interface TrendPoint {
  at: number;
  bytes: number;
}

export interface TrendOptions {
  /** Samples in the sliding window: older ones fall out. */
  window: number;
  /** Fewer samples than this predict nothing (a start-up blip is not a trend). */
  minSamples: number;
  /**
   * Share of the variance the fitted line must explain (R², 0..1) to count as
   * a trend: below it the samples are noise around a level (GC saw-teeth), not
   * growth, and nothing is predicted.
   */
  minFit: number;
}

export const DEFAULT_TREND_OPTIONS: TrendOptions = { window: 24, minSamples: 5, minFit: 0.5 };

export interface LinearFit {
  /** Bytes per second. */
  slope: number;
  /** Coefficient of determination in [0, 1]; 1 when every sample is on the line (a flat series included). */
  r2: number;
}

/** Least-squares line through the points, time in seconds. Undefined for fewer than two points or no time between them. */
export function leastSquares(points: readonly TrendPoint[]): LinearFit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  // Relative to the first point and the mean, so epoch milliseconds lose no precision.
  const t0 = points[0]!.at;
  let meanT = 0;
  let meanY = 0;
  for (const p of points) {
    meanT += (p.at - t0) / 1000;
    meanY += p.bytes;
  }
  meanT /= n;
  meanY /= n;
  let stt = 0;
  let sty = 0;
  let syy = 0;
  for (const p of points) {
    const dt = (p.at - t0) / 1000 - meanT;
    const dy = p.bytes - meanY;
    stt += dt * dt;
    sty += dt * dy;
    syy += dy * dy;
  }
  if (stt === 0) return undefined;
  const slope = sty / stt;
  const r2 = syy === 0 ? 1 : (sty * sty) / (stt * syy);
  return { slope, r2 };
}

export interface TrendEstimate {
  /** Least-squares slope over the window in bytes per second (0 with fewer than two samples). */
  slopeBytesPerSec: number;
  /**
   * Seconds until the limit at that slope, from the latest sample (0 when it
   * is already reached); null when too few samples, flat, falling, or noise.
   */
  secondsToLimit: number | null;
  samples: number;
}

/**
 * The trend of one memory figure over a sliding window of samples, and when
 * it would reach a limit if it kept growing so.
 */
export class MemoryTrend {
  private readonly points: TrendPoint[] = [];
  private readonly options: TrendOptions;

  constructor(options: Partial<TrendOptions> = {}) {
    const o = { ...DEFAULT_TREND_OPTIONS, ...options };
    if (!Number.isInteger(o.window) || o.window < 2) throw new RangeError(`window must be an integer of at least 2 samples, got ${o.window}`);
    this.options = { ...o, minSamples: Math.max(2, Math.min(o.minSamples, o.window)) };
  }

  add(point: TrendPoint): void {
    this.points.push(point);
    if (this.points.length > this.options.window) this.points.shift();
  }

  get samples(): number {
    return this.points.length;
  }

  estimate(limitBytes: number): TrendEstimate {
    const samples = this.points.length;
    const fit = leastSquares(this.points);
    if (!fit) return { slopeBytesPerSec: 0, secondsToLimit: null, samples };
    const trending = samples >= this.options.minSamples && fit.slope > 0 && fit.r2 >= this.options.minFit;
    if (!trending) return { slopeBytesPerSec: fit.slope, secondsToLimit: null, samples };
    const latest = this.points[samples - 1]!.bytes;
    return { slopeBytesPerSec: fit.slope, secondsToLimit: Math.max(0, (limitBytes - latest) / fit.slope), samples };
  }
}
