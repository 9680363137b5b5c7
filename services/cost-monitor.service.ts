import { defineActor, type ActorDefinition, type ActorSelf } from "../actors/actor-spec";
import { ConsultationStore } from "../lib/circle/consultation-store";
import { BudgetLedger } from "../lib/costs/budget-ledger";
import { budgetPrincipals } from "../lib/costs/budget-principals";
import { MAX_PRINCIPALS_CHECKED, readBudgets, type BudgetReading } from "../lib/monitors/cost-budget-readings";
import { CostBudgetWatch } from "../lib/monitors/cost-budget-watch";
import { emitAlert } from "../mixins/emit-alert";
import type { NodeRuntime } from "../mixins/node-runtime";

/** What `cost-monitor.status` answers: the budgets as last checked. */
export interface CostMonitorStatus {
  nodeID: string;
  intervalMs: number;
  checkedAt: string | undefined;
  budgets: BudgetReading[];
  /** Set when a `*` or `role:` budget bound more spenders than are checked. */
  truncated: boolean;
  /** Why the last check failed, if it did. */
  error?: string;
}

interface State {
  watch: CostBudgetWatch | undefined;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  failing: boolean;
  last: { at: number; readings: BudgetReading[]; truncated: boolean; error?: string } | undefined;
}

/**
 * `cost-monitor`, a singleton: every CORE_COST_CHECK_MS it reads every
 * configured budget (the same ledger `budgets.get` and the circle use) for
 * each principal it binds, and emits `monitor.alert` `cost.budget:<name>` at
 * 80 % (warning) and 100 % (critical) of a limit, once per period, resolved
 * when a new period starts. The logic is lib/monitors/cost-*; this is the glue.
 */
export default function createCostMonitorActor(runtime: Pick<NodeRuntime, "config" | "store" | "shared">): ActorDefinition[] {
  const { config, store, shared } = runtime;
  if (!store || !shared) throw new Error("the cost monitor needs the store and the shared state");
  const intervalMs = config.costMonitor.intervalMs;
  const consultations = new ConsultationStore(store);
  const ledger = new BudgetLedger({ rules: config.budgets, shared, spentSince: (principal, since) => consultations.spentSince(principal, since) });
  // Who `*` and `role:` budgets bind: the principals that spent this period, with their roles.
  const principals = budgetPrincipals(store);

  const check = async (self: ActorSelf<State>): Promise<void> => {
    try {
      const { readings, truncated } = await readBudgets({ rules: config.budgets, status: (p) => ledger.status(p), ...principals });
      const alerts = await self.state.watch!.evaluate(readings);
      const wasTruncated = self.state.last?.truncated === true;
      self.state.last = { at: Date.now(), readings, truncated };
      if (self.state.failing) self.logger.info("Cost monitor: budgets checked again");
      self.state.failing = false;
      if (truncated && !wasTruncated) self.logger.warn(`Cost monitor: more than ${MAX_PRINCIPALS_CHECKED} principals spent this period; only the ${MAX_PRINCIPALS_CHECKED} biggest spenders are checked`);
      for (const alert of alerts) emitAlert(self, alert);
    } catch (err) {
      const message = (err as Error).message;
      self.state.last = { at: Date.now(), readings: self.state.last?.readings ?? [], truncated: false, error: message };
      // Once per burst: the store or Redis being away is the health monitor's to report.
      if (!self.state.failing) self.logger.warn(`Cost monitor: checking the budgets failed: ${message}; retrying every ${intervalMs} ms`);
      self.state.failing = true;
    }
  };

  const loop = (self: ActorSelf<State>, delayMs: number) => {
    if (self.state.stopped) return;
    self.state.timer = setTimeout(() => void check(self).finally(() => loop(self, intervalMs)), delayMs);
    self.state.timer.unref();
  };

  const monitor = defineActor<State>({
    name: "cost-monitor",
    kind: "monitor",
    singleton: true,
    state: () => ({ watch: undefined, timer: undefined, stopped: false, failing: false, last: undefined }),
    started(self) {
      self.state.watch = new CostBudgetWatch({ marks: shared, nodeID: self.nodeID });
      const n = config.budgets.length;
      self.logger.info(n === 0 ? "Cost monitor: no budgets configured, nothing to check" : `Cost monitor: checking ${n} budget rule${n === 1 ? "" : "s"} every ${intervalMs} ms`);
      // The first check at once: a monitor that just took over says where things stand.
      loop(self, 0);
    },
    stopped(self) {
      self.state.stopped = true;
      clearTimeout(self.state.timer);
    },
    actions: {
      status: {
        permission: "budgets:read",
        handler(_ctx, self): CostMonitorStatus {
          const last = self.state.last;
          return {
            nodeID: self.nodeID,
            intervalMs,
            checkedAt: last ? new Date(last.at).toISOString() : undefined,
            budgets: last?.readings ?? [],
            truncated: last?.truncated ?? false,
            ...(last?.error ? { error: last.error } : {}),
          };
        },
      },
    },
  });
  return [monitor as unknown as ActorDefinition];
}

