import { byRound, median, pairedMedian } from "../../../benchmarks/report";

describe("benchmarks/report", () => {
  it("median takes the middle value, the upper one for an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
  });

  it("pairedMedian compares each round's two runs before taking the median", () => {
    // The machine halves its speed in the last two rounds: both variants slow down together.
    expect(pairedMedian([90, 88, 45, 46, 90], [100, 100, 50, 50, 100], (c, b) => c / b)).toBeCloseTo(0.9, 5);
    // Round by round CORE adds 2, −1 and 5: the median of those is 2, where the difference of the two medians (25 − 20) is 5.
    expect(pairedMedian([12, 29, 25], [10, 30, 20], (c, b) => c - b)).toBe(2);
  });

  it("byRound gives each round's comparison, in order", () => {
    expect(byRound([12, 29, 25], [10, 30, 20], (c, b) => c - b)).toEqual([2, -1, 5]);
  });

  it("pairedMedian and byRound refuse rounds that do not pair up", () => {
    expect(() => pairedMedian([1, 2], [1], (a, b) => a - b)).toThrow(RangeError);
    expect(() => byRound([1], [1, 2], (a, b) => a - b)).toThrow(RangeError);
  });
});
