import type { Alert, AlertSeverity } from "./alert";
import { formatMb, formatPercent, formatSeconds, formatTrend } from "./memory-format";
import { DEFAULT_HYSTERESIS, MemoryLevels, SHEDDING_LEVEL, type LevelChange, type MemoryLevelName } from "./memory-levels";
import type { MemoryReading } from "./memory-limit";
import { DEFAULT_TREND_OPTIONS, MemoryTrend, type TrendEstimate } from "./memory-trend";

/** One sample of a node's memory, with the limits it is measured against. */
export interface MemorySample extends MemoryReading {
  /** Epoch ms. */
  at: number;
  rssLimitBytes: number;
}

export type MemoryMeasure = "heap" | "rss";

/** What `memory-monitor.status` answers for one node. */
export interface MemoryStatus {
  nodeID: string;
  heapUsedBytes: number;
  heapLimitBytes: number;
  rssBytes: number;
  rssLimitBytes: number;
  /** The higher of heap used / heap limit and RSS / RSS limit: what the level is from. */
  usedRatio: number;
  /** Which of the two gives usedRatio. */
  limitedBy: MemoryMeasure;
  level: MemoryLevelName;
  /** Growth of the measure named by trendOf, in bytes per second, over the sliding window. */
  slopeBytesPerSec: number;
  /** Seconds until that measure reaches its limit at this trend; null when flat, falling or too few samples. */
  predictedExhaustionSec: number | null;
  /** The measure whose limit is nearest at its trend (else limitedBy). */
  trendOf: MemoryMeasure;
  /** Samples in the window. */
  samples: number;
  /** True while the node refuses new consults. */
  shedding: boolean;
  /** Keys of this node's memory alerts that are raised now (not resolved yet). */
  raisedAlerts: string[];
  /** ISO time of the sample. */
  sampledAt: string;
}

export interface MemoryWatchOptions {
  nodeID: string;
  /** Samples in the regression's sliding window. */
  window: number;
  /** Alert when exhaustion is predicted sooner than this. */
  horizonSec: number;
  /** Samples before the first prediction, and quiet samples before a prediction is resolved (default: the window). */
  minSamples?: number;
  minFit?: number;
  hysteresis?: number;
}

export const MEMORY_MONITOR = "memory";
export const PREDICTION_KEY = "memory.exhaustion_predicted";
export const PREDICTION_SEVERITY: AlertSeverity = "high";
/**
 * A raised prediction is resolved once exhaustion has been not predicted, or
 * more than this many horizons away, for minSamples (by default a window's)
 * samples in a row: no
 * flapping at the horizon, nor on one GC's drop in the middle of a leak.
 */
export const PREDICTION_RESOLVE_FACTOR = 1.5;

/** The key of a level's alert: each level is its own condition, raised and resolved on its own. */
export function levelKey(level: Exclude<MemoryLevelName, "normal">): string {
  return `memory.level.${level}`;
}

/**
 * One node's memory, sample by sample: its level (lib/monitors/memory-levels),
 * its trend (lib/monitors/memory-trend) and the alerts both call for. Pure:
 * the caller samples, emits the alerts and sheds.
 */
export class MemoryWatch {
  private readonly levels: MemoryLevels;
  private readonly heap: MemoryTrend;
  private readonly rss: MemoryTrend;
  private predicting = false;
  /** Samples in a row, while predicting, that no longer call for the prediction. */
  private quiet = 0;
  private readonly resolveAfter: number;
  private last: MemoryStatus | undefined;

  constructor(private readonly options: MemoryWatchOptions) {
    this.levels = new MemoryLevels(options.hysteresis ?? DEFAULT_HYSTERESIS);
    // A full window before the first prediction: a node's start-up growth is not a leak.
    const trend = { window: options.window, minSamples: options.minSamples ?? options.window, minFit: options.minFit ?? DEFAULT_TREND_OPTIONS.minFit };
    this.resolveAfter = Math.max(1, trend.minSamples);
    this.heap = new MemoryTrend(trend);
    this.rss = new MemoryTrend(trend);
  }

  /** The latest status, or undefined before the first sample. */
  get status(): MemoryStatus | undefined {
    return this.last;
  }

  observe(sample: MemorySample): { status: MemoryStatus; alerts: Alert[] } {
    const { nodeID, horizonSec } = this.options;
    this.heap.add({ at: sample.at, bytes: sample.heapUsedBytes });
    this.rss.add({ at: sample.at, bytes: sample.rssBytes });
    const heapRatio = sample.heapLimitBytes > 0 ? sample.heapUsedBytes / sample.heapLimitBytes : 0;
    const rssRatio = sample.rssLimitBytes > 0 ? sample.rssBytes / sample.rssLimitBytes : 0;
    const limitedBy: MemoryMeasure = rssRatio >= heapRatio ? "rss" : "heap";
    const usedRatio = Math.max(heapRatio, rssRatio);

    const trends: Record<MemoryMeasure, TrendEstimate> = { heap: this.heap.estimate(sample.heapLimitBytes), rss: this.rss.estimate(sample.rssLimitBytes) };
    const trendOf = nearest(trends) ?? limitedBy;
    const trend = trends[trendOf];

    const changes = this.levels.update(usedRatio);
    const status: MemoryStatus = {
      nodeID,
      heapUsedBytes: sample.heapUsedBytes,
      heapLimitBytes: sample.heapLimitBytes,
      rssBytes: sample.rssBytes,
      rssLimitBytes: sample.rssLimitBytes,
      usedRatio,
      limitedBy,
      level: this.levels.level,
      slopeBytesPerSec: trend.slopeBytesPerSec,
      predictedExhaustionSec: trend.secondsToLimit,
      trendOf,
      samples: trend.samples,
      shedding: this.levels.shedding,
      raisedAlerts: [],
      sampledAt: new Date(sample.at).toISOString(),
    };
    this.last = status;

    const alerts: Alert[] = [];
    // The prediction first: when a jump raises levels too, the warning that came sooner reads first.
    const predicted = status.predictedExhaustionSec;
    if (!this.predicting && predicted !== null && predicted <= horizonSec) {
      this.predicting = true;
      this.quiet = 0;
      alerts.push(this.predictionAlert("raised", status, sample.at));
    } else if (this.predicting) {
      this.quiet = predicted === null || predicted > horizonSec * PREDICTION_RESOLVE_FACTOR ? this.quiet + 1 : 0;
      if (this.quiet >= this.resolveAfter) {
        this.predicting = false;
        alerts.push(this.predictionAlert("resolved", status, sample.at));
      }
    }
    for (const change of changes) alerts.push(this.levelAlert(change, status, sample.at));
    status.raisedAlerts = [...(this.predicting ? [PREDICTION_KEY] : []), ...this.levels.activeLevels.map((l) => levelKey(l.name))];
    return { status, alerts };
  }

  private used(status: MemoryStatus, measure: MemoryMeasure): string {
    return measure === "rss"
      ? `RSS ${formatMb(status.rssBytes)} of ${formatMb(status.rssLimitBytes)}`
      : `heap ${formatMb(status.heapUsedBytes)} of ${formatMb(status.heapLimitBytes)}`;
  }

  private levelAlert(change: LevelChange, status: MemoryStatus, at: number): Alert {
    const { level } = change;
    const where = `Memory of node ${status.nodeID} is at ${formatPercent(status.usedRatio)} of its limit (${this.used(status, status.limitedBy)})`;
    const shedNote = level.name === SHEDDING_LEVEL ? (change.change === "raised" ? "; new consults are refused" : "; new consults are taken again") : "";
    const message =
      change.change === "raised"
        ? `${where}: ${level.name} (${formatPercent(level.threshold)} or more)${shedNote}`
        : `${where}: below ${level.name} again (under ${formatPercent(change.threshold)})${shedNote}`;
    return {
      monitor: MEMORY_MONITOR,
      key: levelKey(level.name),
      severity: level.name,
      state: change.change,
      nodeID: status.nodeID,
      message,
      value: status.usedRatio,
      threshold: change.threshold,
      details: details(status),
      at,
    };
  }

  private predictionAlert(state: Alert["state"], status: MemoryStatus, at: number): Alert {
    const { horizonSec } = this.options;
    const predicted = status.predictedExhaustionSec;
    const message =
      state === "raised"
        ? `Memory of node ${status.nodeID} will reach its limit in about ${formatSeconds(predicted ?? 0)} at its current trend (${formatTrend(status.slopeBytesPerSec)}, ${this.used(status, status.trendOf)})`
        : `Memory of node ${status.nodeID} is no longer predicted to reach its limit within ${formatSeconds(horizonSec)} (${predicted === null ? "no growth" : `about ${formatSeconds(predicted)} away`}, ${formatTrend(status.slopeBytesPerSec)})`;
    return {
      monitor: MEMORY_MONITOR,
      key: PREDICTION_KEY,
      severity: PREDICTION_SEVERITY,
      state,
      nodeID: status.nodeID,
      message,
      ...(predicted === null ? {} : { value: predicted }),
      threshold: horizonSec,
      details: details(status),
      at,
    };
  }
}

/** The measure that reaches its limit first at its trend, or undefined when neither is predicted to. */
function nearest(trends: Record<MemoryMeasure, TrendEstimate>): MemoryMeasure | undefined {
  const { heap, rss } = trends;
  if (heap.secondsToLimit === null) return rss.secondsToLimit === null ? undefined : "rss";
  if (rss.secondsToLimit === null) return "heap";
  return heap.secondsToLimit < rss.secondsToLimit ? "heap" : "rss";
}

function details(status: MemoryStatus): Record<string, unknown> {
  return {
    level: status.level,
    usedRatio: status.usedRatio,
    limitedBy: status.limitedBy,
    heapUsedBytes: status.heapUsedBytes,
    heapLimitBytes: status.heapLimitBytes,
    rssBytes: status.rssBytes,
    rssLimitBytes: status.rssLimitBytes,
    slopeBytesPerSec: status.slopeBytesPerSec,
    predictedExhaustionSec: status.predictedExhaustionSec,
    shedding: status.shedding,
  };
}
