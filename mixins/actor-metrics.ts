import type { ServiceBroker } from "moleculer";

/** Names of the per-actor metrics (Prometheus: core_actor_mailbox_depth, core_actor_messages_total, core_actor_restarts_total). */
export const ACTOR_METRICS = {
  mailboxDepth: "core.actor.mailbox.depth",
  messages: "core.actor.messages.total",
  restarts: "core.actor.restarts.total",
} as const;

export type MessageOutcome = "handled" | "failed" | "refused" | "expired";

/** Per-actor metrics on the broker's registry; a no-op when metrics are off. */
export class ActorMetrics {
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
    this.broker?.metrics.set(ACTOR_METRICS.mailboxDepth, value, { actor });
  }

  message(actor: string, outcome: MessageOutcome): void {
    const m = this.broker?.metrics;
    if (!m) return;
    m.increment(ACTOR_METRICS.messages, { actor, outcome });
    // An actor's restart counter starts at 0 once it works here: a counter that appears at 1 hides its first restart from increase().
    if (!m.getMetric(ACTOR_METRICS.restarts)?.get({ actor })) m.increment(ACTOR_METRICS.restarts, { actor }, 0);
  }

  restarted(actor: string): void {
    this.broker?.metrics.increment(ACTOR_METRICS.restarts, { actor });
  }
}
