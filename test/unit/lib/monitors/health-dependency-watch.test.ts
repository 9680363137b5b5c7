import type { HealthCheck } from "../../../../lib/health/readiness";
import { DependencyWatch } from "../../../../lib/monitors/health-dependency-watch";

const up = (detail = "connected"): HealthCheck => ({ ok: true, critical: false, detail });
const down = (detail = "connect ECONNREFUSED 127.0.0.1:6390"): HealthCheck => ({ ok: false, critical: false, detail });
const storeUp: HealthCheck = { ok: true, critical: true, detail: "PostgreSQL" };
const storeDown: HealthCheck = { ok: false, critical: true, detail: "Connection terminated" };

describe("DependencyWatch", () => {
  const watch = () => new DependencyWatch({ nodeID: "n1", now: () => 42 });
  const summary = (alerts: ReturnType<DependencyWatch["evaluate"]>) => alerts.map((a) => `${a.key} ${a.severity} ${a.state}`);

  it("raises once a dependency failed two samples in a row, and not again while it stays down", () => {
    const w = watch();
    expect(w.evaluate({ shared: up(), store: storeUp })).toEqual([]);
    expect(w.evaluate({ shared: down(), store: storeUp })).toEqual([]);
    const raised = w.evaluate({ shared: down(), store: storeUp });
    expect(raised).toEqual([
      {
        monitor: "health",
        key: "health.shared",
        severity: "warning",
        state: "raised",
        nodeID: "n1",
        message: "Redis (shared counters, budgets, rate limits) is down on node n1 (the node runs degraded): connect ECONNREFUSED 127.0.0.1:6390",
        details: { dependency: "shared", critical: false, detail: "connect ECONNREFUSED 127.0.0.1:6390", failedSamples: 2 },
        at: 42,
      },
    ]);
    expect(w.evaluate({ shared: down(), store: storeUp })).toEqual([]);
    expect(w.down()).toEqual(["shared"]);
  });

  it("a single failed sample between good ones raises nothing", () => {
    const w = watch();
    w.evaluate({ shared: down() });
    expect(w.evaluate({ shared: up() })).toEqual([]);
    expect(w.evaluate({ shared: down() })).toEqual([]);
  });

  it("resolves at the first good sample, and raises again on a new outage", () => {
    const w = watch();
    w.evaluate({ store: storeDown });
    expect(summary(w.evaluate({ store: storeDown }))).toEqual(["health.store critical raised"]);
    const back = w.evaluate({ store: storeUp });
    expect(summary(back)).toEqual(["health.store critical resolved"]);
    expect(back[0]!.message).toBe("the store is back on node n1: PostgreSQL");
    expect(w.down()).toEqual([]);
    w.evaluate({ store: storeDown });
    expect(summary(w.evaluate({ store: storeDown }))).toEqual(["health.store critical raised"]);
  });

  it("a critical dependency says the node is not ready", () => {
    const w = new DependencyWatch({ nodeID: "n1", downAfter: 1 });
    const [alert] = w.evaluate({ transporter: { ok: false, critical: true, detail: "disconnected" } });
    expect(alert!.message).toBe("NATS (the transporter) is down on node n1 (the node is not ready): disconnected");
    expect(alert!.severity).toBe("critical");
  });

  it("a check missing from a sample (its sample timed out) is left as it was", () => {
    const w = watch();
    w.evaluate({ store: storeDown });
    w.evaluate({ store: storeDown });
    expect(w.evaluate({ readiness: { ok: false, critical: true, detail: "no answer" } })).toEqual([]);
    expect(w.down()).toEqual(["store"]);
  });
});
