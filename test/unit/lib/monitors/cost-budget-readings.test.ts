import type { BudgetConfig } from "../../../../config/file-schema";
import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { BudgetLedger } from "../../../../lib/costs/budget-ledger";
import { budgetName, readBudgets } from "../../../../lib/monitors/cost-budget-readings";

const now = Date.parse("2026-03-04T15:00:00.000Z"); // a Wednesday

function setup(rules: BudgetConfig[], spent: Record<string, number>, roles: Record<string, string[]> = {}) {
  const shared = new MemorySharedStore(() => now);
  const ledger = new BudgetLedger({ rules, shared, spentSince: async (p) => spent[p] ?? 0, now: () => now });
  const asked: { spenders: string[]; roles: string[] } = { spenders: [], roles: [] };
  const sources = {
    rules,
    status: (p: { id: string; roles: readonly string[] }) => ledger.status(p),
    spenders: async (since: Date) => {
      asked.spenders.push(since.toISOString());
      return Object.entries(spent)
        .sort((a, b) => b[1] - a[1])
        .map(([p]) => p);
    },
    rolesOf: async (id: string) => {
      asked.roles.push(id);
      return roles[id] ?? [];
    },
    now: () => now,
  };
  return { sources, asked };
}

describe("readBudgets", () => {
  it("names a budget by rule and period, and by principal when the rule binds many", () => {
    expect(budgetName("team-a", "team-a", "day")).toBe("team-a/day");
    expect(budgetName("*", "bob", "month")).toBe("*@bob/month");
    expect(budgetName("role:analyst", "u1", "week")).toBe("role:analyst@u1/week");
  });

  it("reads a principal's own budget without looking for spenders", async () => {
    const { sources, asked } = setup([{ principal: "team-a", period: "day", limitUsd: 10 }], { "team-a": 8.5 });
    const { readings, truncated } = await readBudgets(sources);
    expect(truncated).toBe(false);
    expect(readings).toEqual([
      {
        name: "team-a/day",
        principal: "team-a",
        rule: "team-a",
        period: "day",
        limitUsd: 10,
        usedUsd: 8.5,
        remainingUsd: 1.5,
        periodStart: "2026-03-04T00:00:00.000Z",
        periodEnd: "2026-03-05T00:00:00.000Z",
      },
    ]);
    expect(asked).toEqual({ spenders: [], roles: [] });
  });

  it("reads `*` and `role:` budgets for each principal that spent in the period (from its start), with their roles", async () => {
    const { sources, asked } = setup(
      [
        { principal: "*", period: "week", limitUsd: 100 },
        { principal: "role:analyst", period: "month", limitUsd: 20 },
      ],
      { alice: 19, bob: 3 },
      { alice: ["analyst"] },
    );
    const { readings } = await readBudgets(sources);
    expect(readings.map((r) => `${r.name} ${r.usedUsd}/${r.limitUsd}`).sort()).toEqual(["*@alice/week 19/100", "*@bob/week 3/100", "role:analyst@alice/month 19/20"]);
    // Monday of this week, and the first of the month.
    expect(asked.spenders.sort()).toEqual(["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"]);
    expect(asked.roles.sort()).toEqual(["alice", "bob"]);
  });

  it("checks at most maxPrincipals spenders, the biggest first, and says it cut", async () => {
    const { sources } = setup([{ principal: "*", period: "day", limitUsd: 1 }], { a: 3, b: 2, c: 1 });
    const { readings, truncated } = await readBudgets({ ...sources, maxPrincipals: 2 });
    expect(truncated).toBe(true);
    expect(readings.map((r) => r.principal).sort()).toEqual(["a", "b"]);
  });

  it("two rules of one principal and period: the tighter limit is the one read", async () => {
    const { sources } = setup(
      [
        { principal: "team-a", period: "day", limitUsd: 10 },
        { principal: "team-a", period: "day", limitUsd: 5 },
      ],
      { "team-a": 4.5 },
    );
    const { readings } = await readBudgets(sources);
    expect(readings.map((r) => [r.name, r.limitUsd])).toEqual([["team-a/day", 5]]);
  });
});
