import type { Context } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import { ConsultationStore } from "../lib/circle/consultation-store";
import { BudgetLedger, type BudgetStatus } from "../lib/costs/budget-ledger";
import type { NodeRuntime } from "../mixins/node-runtime";
import { principalOf } from "../mixins/principal";

/**
 * `budgets.get { principal?, roles? }`: every budget that binds a principal,
 * with what is used (spent and reserved by consults in flight) and what
 * remains. Reads the same counters the circle reserves against.
 */
export default function createBudgetsActor(runtime: Pick<NodeRuntime, "config" | "store" | "shared">): ActorDefinition[] {
  const { config, store, shared } = runtime;
  if (!store || !shared) throw new Error("budgets need the store and the shared state");
  const consultations = new ConsultationStore(store);
  const ledger = new BudgetLedger({ rules: config.budgets, shared, spentSince: (principal, since) => consultations.spentSince(principal, since) });
  const budgets = defineActor({
    name: "budgets",
    kind: "budgets",
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
