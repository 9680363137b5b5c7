import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallingOptions, ServiceBroker } from "moleculer";
import { queueHeader } from "../lib/http/edge-response";
import { enterTrace } from "./trace-context";

/** The response header naming the request's trace (the id Jaeger shows, and the `trace=` of its log lines). */
export const TRACE_ID_HEADER = "X-Trace-Id";

/**
 * moleculer-web's `rootCallOptions` for the HTTP edge: every request starts a
 * trace of its own, with an id CORE makes, and its answer names it in
 * X-Trace-Id whatever the outcome (an error, a 404 and a refused login too).
 *
 * moleculer-web would otherwise take the client's X-Request-Id (or
 * X-Correlation-Id) as the trace id: any string, chosen by the client, shared
 * by all its retries, which Jaeger refuses unless it is hex. The client's id
 * stays what it is — its own correlation id: echoed in X-Request-Id and in
 * error bodies, audited, and recorded on every span of the trace (tag
 * `requestId`), so Jaeger finds the trace from either id.
 */
export function startTraceAtEdge(this: { broker: ServiceBroker }, options: CallingOptions, _req: IncomingMessage, res: ServerResponse): void {
  const traceId = this.broker.generateUid();
  options.requestID = traceId;
  queueHeader(res, TRACE_ID_HEADER, traceId);
  // moleculer-web calls this inside its request handler: the gateway's own lines about the request carry the trace too.
  enterTrace(this.broker, traceId);
}
