import { ExpertLatencies } from "../../../../lib/circle/expert-latencies";

describe("ExpertLatencies", () => {
  it("orders unseen experts first (as listed), then the slowest expected first", () => {
    const l = new ExpertLatencies();
    l.observe("fast", 20);
    l.observe("slow", 40);
    expect(l.dispatchOrder(["fast", "new1", "slow", "new2"])).toEqual([1, 3, 2, 0]);
  });

  it("keeps an exponentially weighted mean, so one outlier does not reorder at once", () => {
    const l = new ExpertLatencies(0.2);
    l.observe("a", 40);
    l.observe("b", 20);
    l.observe("b", 100); // 20 + 0.2 × 80 = 36: still faster than a
    expect(l.expected("b")).toBeCloseTo(36, 10);
    expect(l.dispatchOrder(["a", "b"])).toEqual([0, 1]);
    l.observe("b", 100); // 36 + 0.2 × 64 = 48.8
    expect(l.dispatchOrder(["a", "b"])).toEqual([1, 0]);
  });

  it("keeps the given order between equal expectations and ignores impossible times", () => {
    const l = new ExpertLatencies();
    l.observe("a", 10);
    l.observe("b", 10);
    l.observe("a", Number.NaN);
    l.observe("a", -5);
    expect(l.expected("a")).toBe(10);
    expect(l.dispatchOrder(["b", "a"])).toEqual([0, 1]);
  });

  it("refuses a weight outside (0, 1]", () => {
    expect(() => new ExpertLatencies(0)).toThrow(RangeError);
    expect(() => new ExpertLatencies(1.5)).toThrow(RangeError);
  });
});
