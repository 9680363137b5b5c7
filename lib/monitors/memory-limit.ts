import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";

/** Where a node's RSS limit came from. */
export type RssLimitSource = "configured" | "cgroup" | "total memory";

export interface RssLimit {
  bytes: number;
  source: RssLimitSource;
}

const MB = 1024 * 1024;

/**
 * The RSS a node may use: CORE_MEMORY_LIMIT_MB when set, else its cgroup's
 * memory limit (a container's), else the machine's memory. `constrained` is
 * what `process.constrainedMemory()` reports: 0, or a huge number (2^64 - 1),
 * when there is no cgroup limit.
 */
export function resolveRssLimit(configuredMb: number | undefined, constrained: number | undefined, total: number): RssLimit {
  if (configuredMb !== undefined) return { bytes: configuredMb * MB, source: "configured" };
  if (constrained !== undefined && Number.isFinite(constrained) && constrained > 0 && constrained < total) return { bytes: constrained, source: "cgroup" };
  return { bytes: total, source: "total memory" };
}

/** This process's RSS limit (see resolveRssLimit). */
export function processRssLimit(configuredMb: number | undefined): RssLimit {
  return resolveRssLimit(configuredMb, typeof process.constrainedMemory === "function" ? process.constrainedMemory() : undefined, totalmem());
}

export interface MemoryReading {
  heapUsedBytes: number;
  /** V8's heap limit (`heap_size_limit`): past it the process dies of "heap out of memory". */
  heapLimitBytes: number;
  rssBytes: number;
}

/** This process's memory now. Cheap: no heap walk. */
export function readProcessMemory(): MemoryReading {
  const heap = getHeapStatistics();
  return { heapUsedBytes: heap.used_heap_size, heapLimitBytes: heap.heap_size_limit, rssBytes: process.memoryUsage.rss() };
}
