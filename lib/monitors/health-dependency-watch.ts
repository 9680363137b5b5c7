import type { HealthCheck } from "../health/readiness";
import type { Alert } from "./alert";

/** Failed samples in a row before a dependency counts as down: one failed ping is a blip, not an outage. */
export const DEFAULT_DOWN_AFTER = 2;

/** How the readiness checks' names read in an alert. */
const DEPENDENCY_NAMES: Readonly<Record<string, string>> = {
  transporter: "NATS (the transporter)",
  store: "the store",
  shared: "Redis (shared counters, budgets, rate limits)",
  cache: "Redis (the cache)",
  supervisor: "the supervision tree",
  readiness: "the readiness checks",
};

const nameOf = (check: string) => DEPENDENCY_NAMES[check] ?? check;

export interface DependencyWatchOptions {
  nodeID: string;
  downAfter?: number;
  now?: () => number;
}

interface DependencyState {
  failures: number;
  raised: boolean;
}

/**
 * Turns the node's readiness checks, sampled over time, into alerts
 * `health.<check>`: raised once a check failed `downAfter` samples in a row
 * (critical for a dependency the node cannot serve without, warning for one
 * it degrades without), resolved at the first sample it passes again. A check
 * missing from a sample is left as it was (its sample may have timed out).
 */
export class DependencyWatch {
  private readonly states = new Map<string, DependencyState>();
  private readonly downAfter: number;
  private readonly now: () => number;

  constructor(private readonly options: DependencyWatchOptions) {
    this.downAfter = options.downAfter ?? DEFAULT_DOWN_AFTER;
    this.now = options.now ?? Date.now;
  }

  evaluate(checks: Readonly<Record<string, HealthCheck>>): Alert[] {
    const alerts: Alert[] = [];
    for (const [name, check] of Object.entries(checks)) {
      let state = this.states.get(name);
      if (!state) this.states.set(name, (state = { failures: 0, raised: false }));
      if (check.ok) {
        state.failures = 0;
        if (state.raised) {
          state.raised = false;
          alerts.push(this.alert(name, check, "resolved", `${nameOf(name)} is back on node ${this.options.nodeID}: ${check.detail}`));
        }
        continue;
      }
      state.failures++;
      if (!state.raised && state.failures >= this.downAfter) {
        state.raised = true;
        const impact = check.critical ? "the node is not ready" : "the node runs degraded";
        alerts.push(this.alert(name, check, "raised", `${nameOf(name)} is down on node ${this.options.nodeID} (${impact}): ${check.detail}`));
      }
    }
    return alerts;
  }

  /** The checks down now (raised and not resolved). */
  down(): string[] {
    return [...this.states].filter(([, s]) => s.raised).map(([name]) => name);
  }

  private alert(name: string, check: HealthCheck, state: Alert["state"], message: string): Alert {
    return {
      monitor: "health",
      key: `health.${name}`,
      severity: check.critical ? "critical" : "warning",
      state,
      nodeID: this.options.nodeID,
      message,
      details: { dependency: name, critical: check.critical, detail: check.detail, ...(state === "raised" ? { failedSamples: this.states.get(name)!.failures } : {}) },
      at: this.now(),
    };
  }
}
