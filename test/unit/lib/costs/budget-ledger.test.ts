import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { RedisSharedStore } from "../../../../lib/coordination/redis-shared-store";
import { BudgetLedger, periodBounds } from "../../../../lib/costs/budget-ledger";
import { BudgetExceededError } from "../../../../lib/errors";

const alice = { id: "alice", roles: ["operator"] };

function ledger(spent = 0, now = () => Date.UTC(2026, 10, 30, 12)) {
  return new BudgetLedger({
    rules: [
      { principal: "alice", period: "day", limitUsd: 1 },
      { principal: "role:operator", period: "month", limitUsd: 10 },
      { principal: "*", period: "day", limitUsd: 5 },
    ],
    shared: new MemorySharedStore(now),
    spentSince: async () => spent,
    now,
  });
}

describe("BudgetLedger", () => {
  it("binds a principal by its id, its roles and everyone's rules", () => {
    const l = ledger();
    expect(l.rulesFor(alice).map((r) => r.principal)).toEqual(["alice", "role:operator", "*"]);
    expect(l.rulesFor({ id: "bob", roles: [] }).map((r) => r.principal)).toEqual(["*"]);
  });

  it("reserves within every budget, refuses past the tightest with what is used and when it resets, and reserves nothing then", async () => {
    const l = ledger();
    const r1 = await l.reserve(alice, 0.6);
    const err = await l.reserve(alice, 0.5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect(err).toMatchObject({ code: "BUDGET_EXCEEDED", status: 402, data: { rule: "alice", period: "day", limitUsd: 1, usedUsd: 0.6, requestedUsd: 0.5, resetsAt: "2026-12-01T00:00:00.000Z" } });
    const [day] = await l.status(alice);
    expect(day).toMatchObject({ rule: "alice", usedUsd: 0.6, remainingUsd: 0.4 });
    // Settling to the actual cost gives the rest back.
    await r1.settle(0.1);
    await r1.settle(0.1);
    const after = await l.status(alice);
    expect(after.map((b) => b.usedUsd)).toEqual([0.1, 0.1, 0.1]);
    await expect(l.reserve(alice, 0.5)).resolves.toBeDefined();
  });

  it("starts a new period's counter from what the store recorded", async () => {
    const l = ledger(0.95);
    await expect(l.reserve(alice, 0.1)).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
    expect((await l.status(alice))[0]!.usedUsd).toBeCloseTo(0.95, 9);
  });

  it("asks the store what was spent only for a counter that does not exist yet (each sum reads the period's usage rows)", async () => {
    const asked: string[] = [];
    const now = () => Date.UTC(2026, 10, 30, 12);
    const l = new BudgetLedger({
      rules: [{ principal: "alice", period: "day", limitUsd: 1 }],
      shared: new MemorySharedStore(now),
      spentSince: async (principal, since) => (asked.push(`${principal} ${since.toISOString()}`), 0.25),
      now,
    });
    for (let i = 0; i < 5; i++) await l.reserve(alice, 0.1);
    expect(asked).toEqual(["alice 2026-11-30T00:00:00.000Z"]);
    expect((await l.status(alice))[0]!.usedUsd).toBeCloseTo(0.75, 9);
  });

  it("a principal without budgets is never refused", async () => {
    const l = new BudgetLedger({ rules: [], shared: new MemorySharedStore(), spentSince: async () => 0 });
    await expect(l.reserve(alice, 1e6)).resolves.toMatchObject({ amountUsd: 1e6 });
  });

  it("knows its periods in UTC, weeks from Monday", () => {
    const at = new Date(Date.UTC(2026, 10, 29, 23, 30)); // Sunday
    expect(periodBounds("day", at)).toEqual({ start: new Date("2026-11-29T00:00:00Z"), end: new Date("2026-11-30T00:00:00Z") });
    expect(periodBounds("week", at)).toEqual({ start: new Date("2026-11-23T00:00:00Z"), end: new Date("2026-11-30T00:00:00Z") });
    expect(periodBounds("month", at)).toEqual({ start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") });
  });
});

describe("BudgetLedger when its shared store is down", () => {
  it("refuses with UNAVAILABLE (retryable) rather than spending without a check", async () => {
    const shared = new RedisSharedStore("redis://127.0.0.1:1", "nowhere");
    const l = new BudgetLedger({ rules: [{ principal: "*", period: "day", limitUsd: 5 }], shared, spentSince: async () => 0 });
    await expect(l.reserve(alice, 0.1)).rejects.toMatchObject({ code: "UNAVAILABLE", status: 503, retryable: true });
    await shared.close();
  });
});
