/** One dependency's state as the readiness endpoint reports it. */
export interface HealthCheck {
  ok: boolean;
  /** A failing critical check makes the node not ready; a failing non-critical one only degrades it. */
  critical: boolean;
  detail: string;
}

export type ReadinessStatus = "ready" | "degraded" | "not ready";

/** `ready` when all pass, `degraded` when only non-critical checks fail, otherwise `not ready`. */
export function readinessStatus(checks: Readonly<Record<string, HealthCheck>>): ReadinessStatus {
  const all = Object.values(checks);
  if (!all.every((c) => c.ok || !c.critical)) return "not ready";
  return all.every((c) => c.ok) ? "ready" : "degraded";
}
