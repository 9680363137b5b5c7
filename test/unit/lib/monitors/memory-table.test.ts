import { formatMb, formatSeconds, formatTrend } from "../../../../lib/monitors/memory-format";
import { memoryReport } from "../../../../lib/monitors/memory-table";
import type { MemoryStatus } from "../../../../lib/monitors/memory-watch";

const MB = 1024 * 1024;

const status = (nodeID: string, over: Partial<MemoryStatus> = {}): MemoryStatus => ({
  nodeID,
  heapUsedBytes: 61 * MB,
  heapLimitBytes: 4288 * MB,
  rssBytes: 466 * MB,
  rssLimitBytes: 512 * MB,
  usedRatio: 466 / 512,
  limitedBy: "rss",
  level: "critical",
  slopeBytesPerSec: (12.3 * MB) / 60,
  predictedExhaustionSec: 224,
  trendOf: "rss",
  samples: 24,
  shedding: true,
  raisedAlerts: ["memory.level.warning", "memory.level.high", "memory.level.critical"],
  sampledAt: "2026-01-01T00:00:00.000Z",
  ...over,
});

describe("memoryReport (the REPL's memory command)", () => {
  it("one row per node, sorted: heap and RSS against their limits, used %, level, trend, exhaustion, shedding", () => {
    const { rows, unreachable } = memoryReport([
      { nodeID: "node-b", status: status("node-b", { rssBytes: 180 * MB, usedRatio: 180 / 512, level: "normal", slopeBytesPerSec: -1000, predictedExhaustionSec: null, shedding: false }) },
      { nodeID: "node-a", status: status("node-a") },
      { nodeID: "node-c", error: "Request timed out [DEADLINE_EXCEEDED]" },
    ]);
    expect(rows).toEqual([
      ["Node", "Heap used / limit", "RSS / limit", "Used", "Level", "Trend", "Exhaustion in", "Shedding"],
      ["node-a", "61 MB / 4288 MB", "466 MB / 512 MB", "91 % (rss)", "critical", "+12.3 MB/min (rss)", "4 min", "yes"],
      ["node-b", "61 MB / 4288 MB", "180 MB / 512 MB", "35 % (rss)", "normal", "-0.1 MB/min (rss)", "-", "no"],
    ]);
    expect(unreachable).toEqual(["unreachable: node-c: Request timed out [DEADLINE_EXCEEDED]"]);
  });

  it("with no node answering: only the header, and why", () => {
    expect(memoryReport([{ nodeID: "x" }])).toEqual({ rows: [expect.any(Array)], unreachable: ["unreachable: x: no answer"] });
  });
});

describe("memory formats", () => {
  it("MB, trends and durations as people read them", () => {
    expect(formatMb(5.25 * MB)).toBe("5.3 MB");
    expect(formatMb(1536 * MB)).toBe("1536 MB");
    expect(formatTrend(0)).toBe("0.0 MB/min");
    expect(formatTrend((-3 * MB) / 60)).toBe("-3.0 MB/min");
    expect([42, 420, 9_000, 400_000].map(formatSeconds)).toEqual(["42 s", "7 min", "2.5 h", "5 d"]);
  });
});
