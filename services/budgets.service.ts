import type { Context } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import { ConsultationStore } from "../lib/circle/consultation-store";
import { BudgetLedger, type BudgetStatus } from "../lib/costs/budget-ledger";
import { budgetPrincipals } from "../lib/costs/budget-principals";
import { readBudgets } from "../lib/monitors/cost-budget-readings";
import { BudgetMetrics } from "../mixins/budget-metrics";
import type { NodeRuntime } from "../mixins/node-runtime";
import { principalOf } from "../mixins/principal";

interface State {
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/**
 * `budgets.get { principal?, roles? }`: every budget that binds a principal,
 * with what is used (spent and reserved by consults in flight) and what
 * remains. Reads the same counters the circle reserves against. Every
 * CORE_COST_CHECK_MS it also reads every budget for each principal it binds
 * into the budget gauges (mixins/budget-metrics).
 */
export default function createBudgetsActor(runtime: Pick<NodeRuntime, "config" | "store" | "shared">): ActorDefinition[] {
  const { config, store, shared } = runtime;
  if (!store || !shared) throw new Error("budgets need the store and the shared state");
  const consultations = new ConsultationStore(store);
  const ledger = new BudgetLedger({ rules: config.budgets, shared, spentSince: (principal, since) => consultations.spentSince(principal, since) });
  const principals = budgetPrincipals(store);
  const intervalMs = config.costMonitor.intervalMs;
  const measure = async (metrics: BudgetMetrics) => {
    const { readings } = await readBudgets({ rules: config.budgets, status: (p) => ledger.status(p), ...principals });
    metrics.observed(readings);
  };
  const budgets = defineActor<State>({
    name: "budgets",
    kind: "budgets",
    state: () => ({ timer: undefined, stopped: false }),
    started(self) {
      const metrics = BudgetMetrics.for(self.broker, config.budgets);
      if (config.budgets.length === 0 || !self.broker.isMetricsEnabled()) return;
      let failing = false;
      const loop = (delayMs: number) => {
        if (self.state.stopped) return;
        self.state.timer = setTimeout(() => {
          measure(metrics)
            .then(() => (failing = false))
            // Once per burst: the store or Redis being away is the health monitor's to report.
            .catch((err: unknown) => {
              if (!failing) self.logger.warn(`Budget metrics: reading the budgets failed: ${(err as Error).message}; retrying every ${intervalMs} ms`);
              failing = true;
            })
            .finally(() => loop(intervalMs));
        }, delayMs);
        self.state.timer.unref();
      };
      loop(0);
    },
    stopped(self) {
      self.state.stopped = true;
      clearTimeout(self.state.timer);
    },
    actions: {
      get: {
        permission: "budgets:read",
        params: {
          principal: { type: "string", min: 1, max: 200, optional: true },
          roles: { type: "array", items: "string", max: 32, optional: true },
          $$strict: true,
        },
        async handler(ctx: Context<Record<string, unknown>, Record<string, unknown>>): Promise<{ principal: string; budgets: BudgetStatus[] }> {
          const p = ctx.params as { principal?: string; roles?: string[] };
          // Another principal's when named (with the roles given), else the caller's own.
          const caller = principalOf(ctx.meta);
          const id = p.principal ?? caller.id;
          const roles = p.roles ?? (p.principal ? [] : caller.roles);
          return { principal: id, budgets: await ledger.status({ id, roles }) };
        },
      },
    },
  });
  return [budgets as unknown as ActorDefinition];
}
