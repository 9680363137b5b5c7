import { readProcessMemory, resolveRssLimit } from "../../../../lib/monitors/memory-limit";

const MB = 1024 * 1024;
const TOTAL = 24 * 1024 * MB;

describe("resolveRssLimit", () => {
  it("takes CORE_MEMORY_LIMIT_MB first", () => {
    expect(resolveRssLimit(512, 2048 * MB, TOTAL)).toEqual({ bytes: 512 * MB, source: "configured" });
  });

  it("else the cgroup's limit", () => {
    expect(resolveRssLimit(undefined, 2048 * MB, TOTAL)).toEqual({ bytes: 2048 * MB, source: "cgroup" });
  });

  it("else the machine's memory: no cgroup limit reads as 0 or 2^64 - 1", () => {
    for (const none of [0, 18446744073709552000, undefined, Number.NaN]) {
      expect(resolveRssLimit(undefined, none, TOTAL)).toEqual({ bytes: TOTAL, source: "total memory" });
    }
  });
});

describe("readProcessMemory", () => {
  it("reads this process's heap, heap limit and RSS", () => {
    const m = readProcessMemory();
    expect(m.heapUsedBytes).toBeGreaterThan(0);
    expect(m.heapLimitBytes).toBeGreaterThan(m.heapUsedBytes);
    expect(m.rssBytes).toBeGreaterThan(m.heapUsedBytes / 4);
  });
});
