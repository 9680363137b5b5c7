import type { ServiceBroker } from "moleculer";
import { GaugeSeries, gaugeMetric } from "./metric-series";

/** Names of the per-actor metrics (Prometheus: core_actor_mailbox_depth, core_actor_messages_total, core_actor_restarts_total). */
export const ACTOR_METRICS = {
  mailboxDepth: "core.actor.mailbox.depth",
  messages: "core.actor.messages.total",
  restarts: "core.actor.restarts.total",
} as const;

export type MessageOutcome = "handled" | "failed" | "refused" | "expired";

/** The series of one actor, each resolved in the registry at its first update. */
interface ActorSeries {
  depth: GaugeSeries;
  messages: Record<MessageOutcome, GaugeSeries>;
  restarts: GaugeSeries;
}

/**
 * Per-actor metrics on the broker's registry; a no-op when metrics are off.
 * Updated on every message: each actor's series are kept, so an update costs
 * no label hashing or registry lookup (metric-series).
 */
export class ActorMetrics {
  private readonly series = new Map<string, ActorSeries>();

  private constructor(private readonly broker: ServiceBroker | undefined) {}

  static for(broker: ServiceBroker): ActorMetrics {
    if (!broker.isMetricsEnabled()) return new ActorMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(ACTOR_METRICS.mailboxDepth)) {
      m.register({ name: ACTOR_METRICS.mailboxDepth, type: "gauge", labelNames: ["actor"], description: "Messages waiting in an actor's mailbox" });
      m.register({ name: ACTOR_METRICS.messages, type: "counter", labelNames: ["actor", "outcome"], description: "Messages an actor handled, failed, refused (mailbox full) or dropped (deadline passed)" });
      m.register({ name: ACTOR_METRICS.restarts, type: "counter", labelNames: ["actor"], description: "Restarts of an actor by its supervisor" });
    }
    return new ActorMetrics(broker);
  }

  depth(actor: string, value: number): void {
    this.of(actor)?.depth.set(value, Date.now());
  }

  message(actor: string, outcome: MessageOutcome): void {
    const s = this.of(actor);
    if (!s) return;
    const now = Date.now();
    s.messages[outcome].add(1, now);
    // An actor's restart counter starts at 0 once it works here: a counter that appears at 1 hides its first restart from increase().
    if (!s.restarts.exists()) s.restarts.add(0, now);
  }

  restarted(actor: string): void {
    this.of(actor)?.restarts.add(1, Date.now());
  }

  private of(actor: string): ActorSeries | undefined {
    let s = this.series.get(actor);
    if (s === undefined && this.broker) {
      const registry = this.broker.metrics;
      const messages = gaugeMetric(registry, ACTOR_METRICS.messages);
      const message = (outcome: MessageOutcome) => new GaugeSeries(messages, { actor, outcome });
      s = {
        depth: new GaugeSeries(gaugeMetric(registry, ACTOR_METRICS.mailboxDepth), { actor }),
        messages: { handled: message("handled"), failed: message("failed"), refused: message("refused"), expired: message("expired") },
        restarts: new GaugeSeries(gaugeMetric(registry, ACTOR_METRICS.restarts), { actor }),
      };
      this.series.set(actor, s);
    }
    return s;
  }
}
