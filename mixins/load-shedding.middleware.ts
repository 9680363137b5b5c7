import type { Middleware, ServiceBroker } from "moleculer";
import { LoadShedding, SHED_ACTIONS } from "../lib/monitors/load-shedding";
import { LoadShedMetrics } from "./memory-metrics";

type Handler = (ctx: unknown) => Promise<unknown>;
type Node = Pick<ServiceBroker, "nodeID" | "isMetricsEnabled"> & Partial<Pick<ServiceBroker, "metrics">>;

/** Each broker's own shedding state: brokers in one process (tests) never share one. */
const byBroker = new WeakMap<object, LoadShedding>();

/** The shedding state of `broker`'s node: its memory monitor sets it, its middleware reads it. */
export function loadSheddingOf(broker: Pick<ServiceBroker, "nodeID">): LoadShedding {
  let state = byBroker.get(broker);
  if (!state) byBroker.set(broker, (state = new LoadShedding(broker.nodeID)));
  return state;
}

/**
 * While this node sheds load (lib/monitors/load-shedding), calls it receives
 * of the actions that start new work are refused at once with 503
 * MEMORY_PRESSURE (retryable, with `retryAfterSec`), before they cost any
 * memory. Other actions, and work already running, are untouched: their
 * handlers are not even wrapped.
 */
export function LoadSheddingMiddleware(actions: readonly string[] = SHED_ACTIONS): Middleware {
  const shed = new Set(actions);
  return {
    name: "CoreLoadShedding",
    localAction(this: Node, next: Handler, action: { name?: string }): Handler {
      const name = action.name ?? "";
      if (!shed.has(name)) return next;
      const state = loadSheddingOf(this);
      const metrics = LoadShedMetrics.for(this as ServiceBroker);
      metrics.track(name);
      return function shedUnderPressure(ctx: unknown) {
        const refusal = state.refusal(name);
        if (!refusal) return next(ctx);
        metrics.shed(name);
        return Promise.reject(refusal);
      };
    },
  } as unknown as Middleware;
}
