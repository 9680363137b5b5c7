import type { ServiceBroker } from "moleculer";
import type { ExpertAnswer } from "../lib/circle/expert-answer";
import type { BreakerState } from "../lib/experts/provider-breaker";

/**
 * Names of the Circle's metrics (Prometheus: core_expert_latency_seconds,
 * core_expert_tokens_total, core_expert_cost_usd_total, core_expert_errors_total,
 * core_circuit_state, core_consult_duration_seconds, core_consult_cache_total,
 * core_budget_refusals_total).
 */
export const CIRCLE_METRICS = {
  expertLatency: "core.expert.latency.seconds",
  expertTokens: "core.expert.tokens.total",
  expertCost: "core.expert.cost.usd.total",
  expertErrors: "core.expert.errors.total",
  circuitState: "core.circuit.state",
  consultDuration: "core.consult.duration.seconds",
  consultCache: "core.consult.cache.total",
  budgetRefusals: "core.budget.refusals.total",
} as const;

/** 0 closed, 1 half-open, 2 open: a dashboard can alert on > 0. */
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, "half-open": 1, open: 2 };

export type ConsultOutcome = "completed" | "failed" | "refused";

/** The Circle's metrics on the broker's registry; a no-op when metrics are off. */
export class CircleMetrics {
  private constructor(private readonly broker: ServiceBroker | undefined) {}

  static for(broker: ServiceBroker): CircleMetrics {
    if (!broker.isMetricsEnabled()) return new CircleMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(CIRCLE_METRICS.expertLatency)) {
      m.register({
        name: CIRCLE_METRICS.expertLatency,
        type: "histogram",
        labelNames: ["expert", "provider", "outcome"],
        buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
        description: "Time an expert took to answer or fail, retries included",
      });
      m.register({ name: CIRCLE_METRICS.expertTokens, type: "counter", labelNames: ["expert", "provider", "model", "direction"], description: "Tokens the providers reported, input and output" });
      m.register({ name: CIRCLE_METRICS.expertCost, type: "counter", labelNames: ["expert", "provider", "model"], description: "What expert calls cost, in US dollars, at the configured prices" });
      m.register({ name: CIRCLE_METRICS.expertErrors, type: "counter", labelNames: ["expert", "provider", "code"], description: "Expert calls that failed, by error code" });
      m.register({ name: CIRCLE_METRICS.circuitState, type: "gauge", labelNames: ["expert", "endpoint"], description: "State of an expert's provider breaker: 0 closed, 1 half-open, 2 open" });
      m.register({
        name: CIRCLE_METRICS.consultDuration,
        type: "histogram",
        labelNames: ["outcome", "cached"],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
        description: "Time a consult took, by outcome",
      });
      m.register({ name: CIRCLE_METRICS.consultCache, type: "counter", labelNames: ["result"], description: "Consults answered from the cache (hit) or by the experts (miss)" });
      m.register({ name: CIRCLE_METRICS.budgetRefusals, type: "counter", labelNames: ["period"], description: "Consults refused because a budget would be passed" });
      // Known series start at 0: exported before the first consult, and rate() sees the first hit and miss.
      for (const result of ["hit", "miss"]) m.increment(CIRCLE_METRICS.consultCache, { result }, 0);
      for (const period of ["day", "week", "month"]) m.increment(CIRCLE_METRICS.budgetRefusals, { period }, 0);
    }
    return new CircleMetrics(broker);
  }

  answered(expert: string, a: ExpertAnswer): void {
    const m = this.broker?.metrics;
    if (!m) return;
    m.observe(CIRCLE_METRICS.expertLatency, a.latencyMs / 1000, { expert, provider: a.provider, outcome: "answered" });
    m.increment(CIRCLE_METRICS.expertTokens, { expert, provider: a.provider, model: a.model, direction: "input" }, a.usage.inputTokens);
    m.increment(CIRCLE_METRICS.expertTokens, { expert, provider: a.provider, model: a.model, direction: "output" }, a.usage.outputTokens);
    m.increment(CIRCLE_METRICS.expertCost, { expert, provider: a.provider, model: a.model }, a.costUsd);
  }

  failed(expert: string, provider: string, code: string, latencyMs: number): void {
    const m = this.broker?.metrics;
    if (!m) return;
    m.observe(CIRCLE_METRICS.expertLatency, latencyMs / 1000, { expert, provider, outcome: "failed" });
    m.increment(CIRCLE_METRICS.expertErrors, { expert, provider, code });
  }

  breaker(expert: string, endpoint: string, state: BreakerState): void {
    this.broker?.metrics.set(CIRCLE_METRICS.circuitState, STATE_VALUE[state], { expert, endpoint });
  }

  consult(outcome: ConsultOutcome, cached: boolean, seconds: number): void {
    const m = this.broker?.metrics;
    if (!m) return;
    m.observe(CIRCLE_METRICS.consultDuration, seconds, { outcome, cached: String(cached) });
    if (outcome === "completed") m.increment(CIRCLE_METRICS.consultCache, { result: cached ? "hit" : "miss" });
  }

  refused(period: string): void {
    this.broker?.metrics.increment(CIRCLE_METRICS.budgetRefusals, { period });
  }
}
