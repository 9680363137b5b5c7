import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { COST_MARKS_KEY, CostBudgetWatch } from "../../../../lib/monitors/cost-budget-watch";
import type { BudgetReading } from "../../../../lib/monitors/cost-budget-readings";

const DAY1 = { periodStart: "2026-03-02T00:00:00.000Z", periodEnd: "2026-03-03T00:00:00.000Z" };
const DAY2 = { periodStart: "2026-03-03T00:00:00.000Z", periodEnd: "2026-03-04T00:00:00.000Z" };
let now = Date.parse("2026-03-02T12:00:00.000Z");

function reading(usedUsd: number, period = DAY1, over: Partial<BudgetReading> = {}): BudgetReading {
  return { name: "team-a/day", rule: "team-a", principal: "team-a", period: "day", limitUsd: 10, usedUsd, remainingUsd: Math.max(0, 10 - usedUsd), ...period, ...over };
}

const summary = (alerts: Awaited<ReturnType<CostBudgetWatch["evaluate"]>>) => alerts.map((a) => `${a.key} ${a.severity} ${a.state}`);

describe("CostBudgetWatch", () => {
  let shared: MemorySharedStore;
  const watch = (nodeID = "n1") => new CostBudgetWatch({ marks: shared, nodeID, now: () => now });
  beforeEach(() => {
    shared = new MemorySharedStore(() => now);
    now = Date.parse("2026-03-02T12:00:00.000Z");
  });

  it("raises a warning at 80 % and a critical alert at 100 %, each once per period", async () => {
    const w = watch();
    expect(await w.evaluate([reading(7.99)])).toEqual([]);
    const warning = await w.evaluate([reading(8.3)]);
    expect(warning).toEqual([
      {
        monitor: "cost",
        key: "cost.budget:team-a/day",
        severity: "warning",
        state: "raised",
        nodeID: "n1",
        message: "Budget team-a/day is at 83 % of its daily limit: $8.3000 of $10.0000 used (spent and reserved); it resets at 2026-03-03T00:00:00.000Z",
        value: 8.3,
        threshold: 8,
        details: { rule: "team-a", principal: "team-a", period: "day", limitUsd: 10, usedUsd: 8.3, share: expect.closeTo(0.83, 10), ...DAY1, checkedBy: "n1" },
        at: now,
      },
    ]);
    expect(await w.evaluate([reading(9)])).toEqual([]);
    // A consult settled for less than it reserved: below 80 % again, still nothing (once per period).
    expect(await w.evaluate([reading(7)])).toEqual([]);
    expect(await w.evaluate([reading(8.5)])).toEqual([]);
    const critical = await w.evaluate([reading(10)]);
    expect(summary(critical)).toEqual(["cost.budget:team-a/day critical raised"]);
    expect(critical[0]!.message).toBe("Budget team-a/day has reached its limit: $10.0000 of $10.0000 used (spent and reserved); consults that would pass it are refused until it resets at 2026-03-03T00:00:00.000Z");
    expect(await w.evaluate([reading(10)])).toEqual([]);
  });

  it("a jump past both thresholds raises the critical alert only", async () => {
    expect(summary(await watch().evaluate([reading(12)]))).toEqual(["cost.budget:team-a/day critical raised"]);
  });

  it("resolves when a new period starts, then raises again in that period if it must", async () => {
    const w = watch();
    await w.evaluate([reading(9)]);
    now = Date.parse("2026-03-03T00:00:05.000Z");
    const resolved = await w.evaluate([reading(0.5, DAY2)]);
    expect(summary(resolved)).toEqual(["cost.budget:team-a/day warning resolved"]);
    expect(resolved[0]!.message).toBe("Budget team-a/day: the period that reached 80 % ended at 2026-03-03T00:00:00.000Z; a new one started: $0.5000 of $10.0000 used so far");
    expect(await w.evaluate([reading(0.6, DAY2)])).toEqual([]);
    expect(summary(await w.evaluate([reading(8, DAY2)]))).toEqual(["cost.budget:team-a/day warning raised"]);
  });

  it("a budget with no reading in its new period (nobody spent yet) is resolved when its period ends", async () => {
    const w = watch();
    await w.evaluate([reading(10, DAY1, { name: "*@bob/day", rule: "*", principal: "bob" })]);
    expect(await w.evaluate([])).toEqual([]);
    now = Date.parse("2026-03-03T00:00:01.000Z");
    expect(summary(await w.evaluate([]))).toEqual(["cost.budget:*@bob/day critical resolved"]);
    expect(await w.evaluate([])).toEqual([]);
  });

  it("remembers what it raised in the shared state: a cost monitor restarted or moved to another node raises nothing twice, and resolves as the node that raised", async () => {
    await watch("n1").evaluate([reading(9)]);
    expect(JSON.parse((await shared.get(COST_MARKS_KEY))!)).toMatchObject({ "team-a/day": { share: 0.8, severity: "warning", nodeID: "n1" } });
    const successor = watch("n2");
    expect(await successor.evaluate([reading(9.5)])).toEqual([]);
    const critical = await successor.evaluate([reading(10)]);
    expect(critical.map((a) => [a.severity, a.nodeID, a.details?.checkedBy])).toEqual([["critical", "n1", "n2"]]);
    now = Date.parse("2026-03-03T01:00:00.000Z");
    const resolved = await successor.evaluate([reading(0, DAY2)]);
    expect(resolved.map((a) => [a.state, a.severity, a.nodeID])).toEqual([["resolved", "critical", "n1"]]);
  });

  it("reads unreadable marks as none", async () => {
    await shared.set(COST_MARKS_KEY, "not json", 60_000);
    expect(summary(await watch().evaluate([reading(8)]))).toEqual(["cost.budget:team-a/day warning raised"]);
  });
});
