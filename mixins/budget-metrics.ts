import type { ServiceBroker } from "moleculer";
import type { BudgetConfig } from "../config/file-schema";
import type { BudgetStatus } from "../lib/costs/budget-ledger";

/**
 * Names of the budgets' metrics (Prometheus: core_budget_limit_usd{budget,
 * period}, core_budget_spent_usd{budget, period, principal},
 * core_budget_usage_ratio{budget, period, principal}). `budget` is the
 * configured rule (a principal id, `role:<name>` or `*`); a `*` or `role:`
 * rule binds each principal on its own, hence the `principal` label.
 */
export const BUDGET_METRICS = {
  limit: "core.budget.limit.usd",
  spent: "core.budget.spent.usd",
  usageRatio: "core.budget.usage.ratio",
} as const;

/** One budget of one principal as it stands now. */
export interface BudgetUse extends Pick<BudgetStatus, "rule" | "period" | "limitUsd" | "usedUsd"> {
  principal: string;
}

type Registry = ServiceBroker["metrics"];

/** The budgets' gauges on the broker's registry; a no-op when metrics are off. */
export class BudgetMetrics {
  private constructor(private readonly registry: Registry | undefined) {}

  /** Registers the gauges and sets every configured rule's limit. */
  static for(broker: ServiceBroker, rules: readonly BudgetConfig[]): BudgetMetrics {
    if (!broker.isMetricsEnabled()) return new BudgetMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(BUDGET_METRICS.limit)) {
      m.register({ name: BUDGET_METRICS.limit, type: "gauge", labelNames: ["budget", "period"], description: "A configured budget's limit per period, in US dollars" });
      m.register({
        name: BUDGET_METRICS.spent,
        type: "gauge",
        labelNames: ["budget", "period", "principal"],
        description: "What a principal spent this period against a budget, plus what its consults in flight reserved, in US dollars",
      });
      m.register({ name: BUDGET_METRICS.usageRatio, type: "gauge", labelNames: ["budget", "period", "principal"], description: "Spent (and reserved) / limit of a principal's budget this period; 1 = exhausted" });
    }
    for (const r of rules) m.set(BUDGET_METRICS.limit, r.limitUsd, { budget: r.principal, period: r.period });
    return new BudgetMetrics(m);
  }

  /**
   * Replaces every principal's series by `uses`: a principal that no longer
   * appears (a new period began and it spent nothing yet) loses its old values
   * instead of showing them until it spends again.
   */
  observed(uses: readonly BudgetUse[]): void {
    const m = this.registry;
    if (!m) return;
    m.getMetric(BUDGET_METRICS.spent)?.clear();
    m.getMetric(BUDGET_METRICS.usageRatio)?.clear();
    for (const u of uses) {
      const labels = { budget: u.rule, period: u.period, principal: u.principal };
      m.set(BUDGET_METRICS.spent, u.usedUsd, labels);
      m.set(BUDGET_METRICS.usageRatio, u.usedUsd / u.limitUsd, labels);
    }
  }
}
