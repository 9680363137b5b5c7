/**
 * The NATS ingress's metrics (Prometheus: core_ingress_requests_total,
 * core_ingress_request_duration_seconds, core_ingress_dropped_total), on the
 * part of a metrics registry they use: Moleculer's (`broker.metrics`) has it,
 * and lib/ stays free of the broker.
 */
export const INGRESS_METRICS = {
  requests: "core.ingress.requests.total",
  duration: "core.ingress.request.duration.seconds",
  dropped: "core.ingress.dropped.total",
} as const;

/** Why a message got no answer. */
export type DropReason = "no_reply_subject" | "reply_failed";

/** What the ingress tells about each message. */
export interface IngressObserver {
  answered(subject: string, status: number, seconds: number): void;
  dropped(reason: DropReason): void;
}

type Labels = Record<string, string>;
interface MetricDefinition {
  name: string;
  labelNames: string[];
  description: string;
}
export interface MetricRegistry {
  getMetric(name: string): unknown;
  register(definition: MetricDefinition & { type: "counter" }): unknown;
  register(definition: MetricDefinition & { type: "histogram"; buckets: number[] }): unknown;
  increment(name: string, labels: Labels, value?: number): void;
  observe(name: string, value: number, labels: Labels): void;
}

export class IngressMetrics implements IngressObserver {
  constructor(private readonly registry: MetricRegistry) {
    if (registry.getMetric(INGRESS_METRICS.requests)) return;
    registry.register({ name: INGRESS_METRICS.requests, type: "counter", labelNames: ["subject", "status"], description: "NATS ingress requests answered, by subject and status" });
    registry.register({
      name: INGRESS_METRICS.duration,
      type: "histogram",
      labelNames: ["subject", "status"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      description: "Time from a NATS ingress message's arrival to its answer",
    });
    registry.register({ name: INGRESS_METRICS.dropped, type: "counter", labelNames: ["reason"], description: "NATS ingress messages that could not be answered (no reply subject, reply failed)" });
  }

  answered(subject: string, status: number, seconds: number): void {
    const labels = { subject, status: String(status) };
    this.registry.increment(INGRESS_METRICS.requests, labels);
    this.registry.observe(INGRESS_METRICS.duration, seconds, labels);
  }

  dropped(reason: DropReason): void {
    this.registry.increment(INGRESS_METRICS.dropped, { reason });
  }
}
