import type { AlertSeverity } from "../../../../lib/monitors/alert";
import { LEVEL_VALUE, MEMORY_LEVELS, MemoryLevels, SHEDDING_LEVEL } from "../../../../lib/monitors/memory-levels";

const names = (changes: ReturnType<MemoryLevels["update"]>) => changes.map((c) => `${c.change} ${c.level.name}`);

describe("MemoryLevels", () => {
  it("enters warning, high, critical and emergency at 70, 80, 90 and 95 %", () => {
    const l = new MemoryLevels();
    expect(l.update(0.5)).toEqual([]);
    expect(l.level).toBe("normal");
    expect(names(l.update(0.7))).toEqual(["raised warning"]);
    expect(names(l.update(0.8))).toEqual(["raised high"]);
    expect(names(l.update(0.9))).toEqual(["raised critical"]);
    expect(names(l.update(0.95))).toEqual(["raised emergency"]);
    expect(l.level).toBe("emergency");
    expect(l.update(1.2)).toEqual([]);
  });

  it("reports every level crossed in one sample, in order: up from the lowest, down from the highest", () => {
    const l = new MemoryLevels();
    expect(names(l.update(0.97))).toEqual(["raised warning", "raised high", "raised critical", "raised emergency"]);
    expect(l.activeLevels.map((x) => x.name)).toEqual(["warning", "high", "critical", "emergency"]);
    const down = l.update(0.1);
    expect(names(down)).toEqual(["resolved emergency", "resolved critical", "resolved high", "resolved warning"]);
    expect(down.map((c) => c.threshold)).toEqual([0.92, 0.87, 0.77, 0.67].map((x) => expect.closeTo(x, 10)));
    expect(l.level).toBe("normal");
  });

  it("leaves a level only 3 points below its threshold, so usage hovering at it does not flap", () => {
    const l = new MemoryLevels();
    const all = [0.7, 0.69, 0.71, 0.68, 0.7001, 0.675].flatMap((r) => names(l.update(r)));
    expect(all).toEqual(["raised warning"]);
    expect(names(l.update(0.669))).toEqual(["resolved warning"]);
    expect(names(l.update(0.69))).toEqual([]); // below 70 %: not entered again
  });

  it("sheds from critical until usage falls below critical's exit threshold (87 %)", () => {
    expect(SHEDDING_LEVEL).toBe("critical");
    const l = new MemoryLevels();
    l.update(0.85);
    expect(l.shedding).toBe(false);
    l.update(0.9);
    expect(l.shedding).toBe(true);
    l.update(0.96);
    l.update(0.91); // back to critical
    expect(l.level).toBe("critical");
    expect(l.shedding).toBe(true);
    l.update(0.871);
    expect(l.shedding).toBe(true);
    expect(names(l.update(0.86))).toEqual(["resolved critical"]);
    expect(l.shedding).toBe(false);
    expect(l.level).toBe("high");
  });

  it("takes a custom hysteresis, and ignores a ratio that is not a number", () => {
    const l = new MemoryLevels(0);
    l.update(0.7);
    expect(l.update(Number.NaN)).toEqual([]);
    expect(names(l.update(0.6999))).toEqual(["resolved warning"]);
    expect(() => new MemoryLevels(0.8)).toThrow(/hysteresis/);
  });

  it("names each level by an alert severity, and numbers them 0..4 for the gauge", () => {
    const severities: AlertSeverity[] = MEMORY_LEVELS.map((l) => l.name);
    expect(severities).toEqual(["warning", "high", "critical", "emergency"]);
    expect(LEVEL_VALUE).toEqual({ normal: 0, warning: 1, high: 2, critical: 3, emergency: 4 });
  });
});
