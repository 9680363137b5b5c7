import { AsyncLocalStorage } from "node:async_hooks";
import type { Middleware } from "moleculer";

type Handler = (ctx: { requestID?: string | null }) => Promise<unknown>;

/** The trace id of the call being handled, wherever its handler's async work goes. */
const current = new AsyncLocalStorage<string>();

/** The trace id of the call this code runs for (its Moleculer requestID), or undefined outside any call. */
export function currentTraceId(): string | undefined {
  return current.getStore();
}

/** Runs `fn` as part of the trace `traceId` (what the middleware does around each handler). */
export function runInTrace<T>(traceId: string, fn: () => T): T {
  return current.run(traceId, fn);
}

/** Brokers that run the middleware (CORE_LOG_TRACE_IDS): only they pay for a trace context at their edges. */
const brokersWithTraceContext = new WeakSet<object>();

/**
 * For an edge that starts a trace outside any action (the HTTP gateway, before
 * its `rest` action runs): what the rest of this request's handling does —
 * its action, and what the gateway does after it, such as logging a failed
 * request — runs in `traceId`. Only on a broker that runs the middleware.
 */
export function enterTrace(broker: object, traceId: string): void {
  if (brokersWithTraceContext.has(broker)) current.enterWith(traceId);
}

/**
 * Makes the trace id of the call being handled known to the code it runs, so
 * log lines written while handling a call carry it (mixins/redacting-logger):
 * every local action and event handler runs inside its context's requestID —
 * the trace id, the same on every node the request crosses.
 */
export function TraceContextMiddleware(): Middleware {
  const wrap = (next: Handler): Handler =>
    function traced(ctx) {
      const traceId = ctx.requestID;
      return traceId ? current.run(traceId, next, ctx) : next(ctx);
    };
  return {
    name: "CoreTraceContext",
    created: (broker: object) => void brokersWithTraceContext.add(broker),
    localAction: wrap,
    localEvent: wrap,
  } as unknown as Middleware;
}
