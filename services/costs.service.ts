import type { Context } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import { COST_DIMENSIONS, summariseCosts, type CostDimension, type CostSummary } from "../lib/costs/cost-summary";
import type { NodeRuntime } from "../mixins/node-runtime";

/** `costs.summary { groupBy?, from?, to?, principal? }`: usage and cost of every provider call, grouped. */
export default function createCostsActor(runtime: Pick<NodeRuntime, "store">): ActorDefinition[] {
  const { store } = runtime;
  if (!store) throw new Error("costs need the store");
  const costs = defineActor({
    name: "costs",
    kind: "costs",
    actions: {
      summary: {
        permission: "costs:read",
        params: {
          groupBy: { type: "array", items: { type: "enum", values: Object.keys(COST_DIMENSIONS) }, max: 5, optional: true },
          from: { type: "date", convert: true, optional: true },
          to: { type: "date", convert: true, optional: true },
          principal: { type: "string", max: 200, optional: true },
          $$strict: true,
        },
        handler(ctx: Context<Record<string, unknown>>): Promise<CostSummary> {
          const p = ctx.params as { groupBy?: CostDimension[]; from?: Date; to?: Date; principal?: string };
          return summariseCosts(store, {
            groupBy: p.groupBy ?? ["provider", "model"],
            ...(p.from ? { from: p.from.toISOString() } : {}),
            ...(p.to ? { to: p.to.toISOString() } : {}),
            ...(p.principal ? { principal: p.principal } : {}),
          });
        },
      },
    },
  });
  return [costs as unknown as ActorDefinition];
}
