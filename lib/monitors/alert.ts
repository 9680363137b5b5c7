/**
 * What a monitor says when something needs an operator (memory, health, cost).
 * Monitors emit it as the Moleculer event `monitor.alert` (balanced: the
 * alerts service of one node handles each), which turns it into metrics, a
 * NATS event on `core.events.alerts.<monitor>` and an optional webhook call.
 */
export type AlertSeverity = "info" | "warning" | "high" | "critical" | "emergency";

export interface Alert {
  /** Which monitor: "memory", "health", "cost". */
  monitor: string;
  /** What the alert is about, stable across repeats, e.g. "memory.level", "memory.exhaustion_predicted", "health.store", "cost.budget:team-a". */
  key: string;
  severity: AlertSeverity;
  /** "raised" when the condition starts or worsens, "resolved" when it is over. */
  state: "raised" | "resolved";
  /** The node the condition was seen on. */
  nodeID: string;
  /** One sentence for a human. */
  message: string;
  /** The measured value and the threshold it crossed, when there are numbers. */
  value?: number;
  threshold?: number;
  /** Anything else specific to the monitor (e.g. predictedExhaustionSec). */
  details?: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  at: number;
}

/** The Moleculer event monitors emit. */
export const ALERT_EVENT = "monitor.alert";
/** The event group that makes `monitor.alert` handled once in the cluster. */
export const ALERT_EVENT_GROUP = "alerts";
