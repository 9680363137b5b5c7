import { ServiceBroker } from "moleculer";
import { metricValues } from "../../helpers/metric-values";
import { BUDGET_METRICS, BudgetMetrics } from "../../../mixins/budget-metrics";

/** The budget gauges on a broker's registry (no reporter: the registry is read directly). */

let broker: ServiceBroker;
beforeEach(() => {
  broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] } });
});

describe("BudgetMetrics", () => {
  it("sets every rule's limit at once, and replaces the principals' use at each reading", () => {
    const metrics = BudgetMetrics.for(broker, [
      { principal: "*", period: "day", limitUsd: 20 },
      { principal: "role:ops", period: "month", limitUsd: 500 },
    ]);
    expect(metricValues(broker, BUDGET_METRICS.limit)).toEqual([
      { budget: "*", period: "day", value: 20 },
      { budget: "role:ops", period: "month", value: 500 },
    ]);
    metrics.observed([
      { rule: "*", period: "day", limitUsd: 20, usedUsd: 16, principal: "alice" },
      { rule: "*", period: "day", limitUsd: 20, usedUsd: 1, principal: "bob" },
    ]);
    expect(metricValues(broker, BUDGET_METRICS.usageRatio)).toEqual([
      { budget: "*", period: "day", principal: "alice", value: 0.8 },
      { budget: "*", period: "day", principal: "bob", value: 0.05 },
    ]);
    // A new period: bob has not spent yet and is gone, not stuck at yesterday's value.
    metrics.observed([{ rule: "*", period: "day", limitUsd: 20, usedUsd: 2, principal: "alice" }]);
    expect(metricValues(broker, BUDGET_METRICS.spent)).toEqual([{ budget: "*", period: "day", principal: "alice", value: 2 }]);
  });

  it("is a no-op when metrics are off", () => {
    const off = new ServiceBroker({ logger: false, metrics: false });
    expect(() => BudgetMetrics.for(off, [{ principal: "*", period: "day", limitUsd: 1 }]).observed([])).not.toThrow();
  });
});
