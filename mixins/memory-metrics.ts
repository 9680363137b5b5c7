import type { ServiceBroker } from "moleculer";
import { LEVEL_VALUE } from "../lib/monitors/memory-levels";
import type { MemoryStatus } from "../lib/monitors/memory-watch";

/**
 * Names of the memory monitor's metrics (Prometheus: core_memory_heap_used_bytes,
 * core_memory_heap_limit_bytes, core_memory_rss_bytes, core_memory_limit_bytes
 * (the RSS limit), core_memory_usage_ratio, core_memory_level (0 normal, 1
 * warning, 2 high, 3 critical, 4 emergency), core_memory_exhaustion_seconds
 * (-1: none predicted), core_memory_shedding (0/1), core_load_shed_total{action}).
 * Every one carries the node's `nodeID` and `namespace` labels.
 */
export const MEMORY_METRICS = {
  heapUsed: "core.memory.heap.used.bytes",
  heapLimit: "core.memory.heap.limit.bytes",
  rss: "core.memory.rss.bytes",
  limit: "core.memory.limit.bytes",
  usageRatio: "core.memory.usage.ratio",
  level: "core.memory.level",
  exhaustion: "core.memory.exhaustion.seconds",
  shedding: "core.memory.shedding",
  loadShed: "core.load.shed.total",
} as const;

type Registry = ServiceBroker["metrics"];

/** The memory gauges on the broker's registry; a no-op when metrics are off. */
export class MemoryMetrics {
  private constructor(private readonly registry: Registry | undefined) {}

  static for(broker: ServiceBroker): MemoryMetrics {
    if (!broker.isMetricsEnabled()) return new MemoryMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(MEMORY_METRICS.heapUsed)) {
      m.register({ name: MEMORY_METRICS.heapUsed, type: "gauge", description: "V8 heap in use, bytes" });
      m.register({ name: MEMORY_METRICS.heapLimit, type: "gauge", description: "V8 heap limit (heap_size_limit), bytes" });
      m.register({ name: MEMORY_METRICS.rss, type: "gauge", description: "Resident set size of the node's process, bytes" });
      m.register({ name: MEMORY_METRICS.limit, type: "gauge", description: "RSS limit the node is measured against (CORE_MEMORY_LIMIT_MB, else the cgroup's, else the machine's), bytes" });
      m.register({ name: MEMORY_METRICS.usageRatio, type: "gauge", description: "The higher of heap used / heap limit and RSS / RSS limit" });
      m.register({ name: MEMORY_METRICS.level, type: "gauge", description: "Memory level: 0 normal, 1 warning (70 %), 2 high (80 %), 3 critical (90 %), 4 emergency (95 %)" });
      m.register({ name: MEMORY_METRICS.exhaustion, type: "gauge", description: "Predicted seconds until the memory limit at the current trend; -1 when none is predicted" });
      m.register({ name: MEMORY_METRICS.shedding, type: "gauge", description: "1 while the node refuses new consults because of memory pressure" });
    }
    return new MemoryMetrics(m);
  }

  sampled(s: MemoryStatus): void {
    const m = this.registry;
    if (!m) return;
    m.set(MEMORY_METRICS.heapUsed, s.heapUsedBytes);
    m.set(MEMORY_METRICS.heapLimit, s.heapLimitBytes);
    m.set(MEMORY_METRICS.rss, s.rssBytes);
    m.set(MEMORY_METRICS.limit, s.rssLimitBytes);
    m.set(MEMORY_METRICS.usageRatio, s.usedRatio);
    m.set(MEMORY_METRICS.level, LEVEL_VALUE[s.level]);
    m.set(MEMORY_METRICS.exhaustion, s.predictedExhaustionSec === null ? -1 : s.predictedExhaustionSec);
    m.set(MEMORY_METRICS.shedding, s.shedding ? 1 : 0);
  }
}

/** Counts refused calls by action (core_load_shed_total); a no-op when metrics are off. */
export class LoadShedMetrics {
  private constructor(private readonly registry: Registry | undefined) {}

  static for(broker: ServiceBroker): LoadShedMetrics {
    if (!broker.isMetricsEnabled()) return new LoadShedMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(MEMORY_METRICS.loadShed)) {
      m.register({ name: MEMORY_METRICS.loadShed, type: "counter", labelNames: ["action"], description: "Calls refused at once (503 MEMORY_PRESSURE) while the node sheds load" });
    }
    return new LoadShedMetrics(m);
  }

  /** Starts an action's series at 0, so dashboards and rules see it before the first refusal. */
  track(action: string): void {
    this.registry?.increment(MEMORY_METRICS.loadShed, { action }, 0);
  }

  shed(action: string): void {
    this.registry?.increment(MEMORY_METRICS.loadShed, { action });
  }
}
