import type { Context } from "moleculer";
import { untraced, type SpanTags, type TraceStep } from "../lib/tracing/trace-step";
import { CLIENT_SPAN, PEER_SERVICE_TAG } from "./tracing-exporter";

/**
 * Steps of the call `ctx` handles, as child spans of its span (Moleculer's
 * tracing middleware opened it): for lib/ code that calls out of the node
 * (the store, a provider), which takes a TraceStep and knows nothing of
 * Moleculer. The child is made from the span itself, not with
 * `ctx.startSpan`, which would make it the parent of every call the handler
 * makes meanwhile (the expert calls run while a consult's other steps do).
 * Without tracing, or for a request not sampled, steps just run.
 *
 * `peer` names what the step calls (`postgres`, `anthropic`): the span is a
 * CLIENT span with that remote service, as Jaeger draws dependencies.
 */
export function traceStepOf(ctx: Pick<Context, "span">, peer?: string): TraceStep {
  const parent = ctx.span;
  if (!parent || !parent.sampled) return untraced;
  return async <T>(name: string, work: () => Promise<T>, tags?: SpanTags): Promise<T> => {
    const span = parent.startSpan(name, { type: peer ? CLIENT_SPAN : "custom", tags: { ...tags, ...(peer ? { [PEER_SERVICE_TAG]: peer } : {}) } });
    try {
      return await work();
    } catch (err) {
      span.setError(err as Error);
      throw err;
    } finally {
      span.finish();
    }
  };
}
