import { formatMb, formatPercent, formatSeconds, formatTrend } from "./memory-format";
import type { MemoryStatus } from "./memory-watch";

/** One node's answer to `memory-monitor.status`, or why there is none. */
export interface NodeMemoryAnswer {
  nodeID: string;
  status?: MemoryStatus;
  error?: string;
}

/**
 * The REPL `memory` command's output: a table (header, then one node per row)
 * and one line per node that did not answer, with the reason.
 */
export function memoryReport(answers: readonly NodeMemoryAnswer[]): { rows: string[][]; unreachable: string[] } {
  const rows = [["Node", "Heap used / limit", "RSS / limit", "Used", "Level", "Trend", "Exhaustion in", "Shedding"]];
  const unreachable: string[] = [];
  for (const a of [...answers].sort((x, y) => x.nodeID.localeCompare(y.nodeID))) {
    const s = a.status;
    if (!s) {
      unreachable.push(`unreachable: ${a.nodeID}: ${a.error ?? "no answer"}`);
      continue;
    }
    rows.push([
      s.nodeID,
      `${formatMb(s.heapUsedBytes)} / ${formatMb(s.heapLimitBytes)}`,
      `${formatMb(s.rssBytes)} / ${formatMb(s.rssLimitBytes)}`,
      `${formatPercent(s.usedRatio)} (${s.limitedBy})`,
      s.level,
      `${formatTrend(s.slopeBytesPerSec)} (${s.trendOf})`,
      s.predictedExhaustionSec === null ? "-" : formatSeconds(s.predictedExhaustionSec),
      s.shedding ? "yes" : "no",
    ]);
  }
  return { rows, unreachable };
}
