import type { BrokerOptions, Context } from "moleculer";
import type { CoreConfig } from "../config";
import { spanParams } from "../lib/tracing/span-params";
import { CoreZipkinExporter } from "./tracing-exporter";

type TracingOptions = NonNullable<Exclude<BrokerOptions["tracing"], boolean>>;

/**
 * What an action's span records: its params (redacted and bounded: spans go
 * to Jaeger, so they get no more than a log line would), who called, and the
 * client's own request id (X-Request-Id, Core-Request-Id) so a trace can be
 * found from it in Jaeger (tag `requestId`). Moleculer calls this once when
 * the span starts and once, with the response, when it ends: the response is
 * not recorded. A call of a request that is not sampled (its caller's span
 * said so) records nothing: its span is never sent, and redacting is most of
 * a span's cost.
 */
export function actionSpanTags(ctx: Context, ...finished: unknown[]): Record<string, unknown> {
  if (finished.length > 0 || ctx.tracing === false) return {};
  const meta = (ctx.meta ?? {}) as { principal?: { id?: unknown }; requestId?: unknown };
  const tags: Record<string, unknown> = { params: spanParams(ctx.params) };
  if (typeof meta.principal?.id === "string") tags.principal = meta.principal.id;
  if (typeof meta.requestId === "string") tags.requestId = meta.requestId;
  return tags;
}

/**
 * The broker's `tracing` option from CORE_TRACING*: off, spans printed
 * (`console`), or sent to a Zipkin collector (`zipkin`: Jaeger's on port 9411
 * takes them) every CORE_TRACING_FLUSH_MS, for the share CORE_TRACING_SAMPLE
 * of requests. A request's spans share its trace id (the id in X-Trace-Id),
 * and every span carries the node that made it (tag `nodeID`).
 */
export function tracingOptions(config: Pick<CoreConfig, "nodeId" | "tracing">): TracingOptions {
  const { tracing } = config;
  if (tracing.exporter === "none") return { enabled: false };
  const exporter =
    tracing.exporter === "zipkin" ? new CoreZipkinExporter({ url: tracing.url, flushMs: tracing.flushMs }) : { type: "Console" as const };
  return {
    enabled: true,
    // Moleculer's typings know exporters by name only; an instance is what its resolver takes first.
    exporter: [exporter] as TracingOptions["exporter"],
    // The first span of a request decides for the whole trace (the decision travels with the calls).
    sampling: { rate: tracing.sampleRate },
    actions: true,
    events: false,
    defaultTags: { nodeID: config.nodeId },
    tags: { action: actionSpanTags },
  };
}
