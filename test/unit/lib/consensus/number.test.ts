import { parseLeadingNumber } from "../../../../lib/consensus/number";

const read = (s: string) => parseLeadingNumber(Array.from(s));

describe("numbers in common formats", () => {
  it.each([
    ["1250", "1250"],
    ["1,250", "1250"],
    ["1 250 km", "1250"],
    ["1\u202f250", "1250"],
    ["$1,250.00", "1250"],
    ["1,250 dollars", "1250"],
    ["1.25e3", "1250"],
    ["1.25 × 10^3", "1250"],
    ["1.25x10^3", "1250"],
    ["6.048 × 10^5 seconds", "604800"],
    ["-3.5", "-3.5"],
    ["−3,5", "-3.5"],
    ["-3.50", "-3.5"],
    ["22,50 €", "22.5"],
    ["1234,5", "1234.5"],
    [".375", "0.375"],
    ["75%", "75"],
    ["3/4", "0.75"],
    ["15/8", "1.875"],
    ["1 7/8 cups", "1.875"],
    ["1/3", "1/3"],
    ["2/6", "1/3"],
    ["1.5 million", "1500000"],
    ["twelve", "12"],
    ["forty-two", "42"],
    ["forty two", "42"],
    ["three hundred and five", "305"],
    ["one hundred thousand", "100000"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1e-7"],
    ["1e30", "1e30"],
    ["12345678901234567890123", "1.2345678901234567890123e22"],
    ["0", "0"],
    ["-0", "0"],
    ["007", "7"],
  ])("%s → %s", (text, expected) => {
    expect(read(text)).toBe(expected);
  });

  it.each(["abc", "", "one-off", "oneself", "x", "1/0", "1".repeat(40), "1e999"])("%j is not a number", (text) => {
    expect(read(text)).toBeUndefined();
  });
});
