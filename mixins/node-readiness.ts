import type { ServiceBroker } from "moleculer";
import { actorsOf } from "../actors/actor-tree";
import type { SupervisorSnapshot } from "../actors/supervisor";
import type { HealthCheck } from "../lib/health/readiness";
import type { NodeRuntime } from "./node-runtime";

async function check(what: () => Promise<string>, critical: boolean): Promise<HealthCheck> {
  try {
    return { ok: true, critical, detail: await what() };
  } catch (err) {
    return { ok: false, critical, detail: (err as Error).message };
  }
}

/** What /health/ready reports: the transporter, the store, Redis, the cache and (where it runs) the supervision tree. */
export async function nodeReadiness(broker: ServiceBroker, runtime: NodeRuntime): Promise<Record<string, HealthCheck>> {
  const checks: Record<string, HealthCheck> = {};
  const transit = broker.transit;
  checks.transporter = transit
    ? { ok: transit.connected === true, critical: true, detail: transit.connected ? "connected" : "disconnected" }
    : { ok: true, critical: true, detail: "embedded (no transporter)" };
  const { store, shared } = runtime;
  if (store) checks.store = await check(() => store.ping().then(() => store.describe()), true);
  // Redis holds rate limits, budgets and single flight: down, they fail open or fall back to this node, so a node degrades rather than leaves rotation.
  if (shared && runtime.config.redis) checks.shared = await check(() => shared.ping().then(() => "connected"), false);
  const cacher = broker.cacher as { connected?: boolean } | undefined;
  if (cacher && cacher.connected !== undefined) {
    // Calls still succeed uncached while Redis is down: a cache outage degrades a node, it does not take it out of rotation.
    checks.cache = { ok: cacher.connected === true, critical: false, detail: cacher.connected ? "connected" : "disconnected (calls are served uncached)" };
  }
  if (broker.getLocalService("supervisor")) {
    checks.supervisor = await check(async () => {
      const tree = await broker.call<SupervisorSnapshot | null, Record<string, never>>("supervisor.localTree", {}, { nodeID: broker.nodeID, timeout: 2_000 });
      if (!tree) throw new Error("the supervision tree is not running");
      const actors = actorsOf(broker.nodeID, tree, () => undefined);
      const down = actors.filter((a) => a.state !== "running");
      return `${actors.length - down.length}/${actors.length} actors running${down.length ? ` (${down.map((a) => `${a.name}: ${a.state}`).join(", ")})` : ""}`;
    }, true);
  }
  return checks;
}
