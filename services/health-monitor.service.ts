import type { ServiceBroker } from "moleculer";
import { defineActor, type ActorDefinition, type ActorSelf } from "../actors/actor-spec";
import type { SupervisorSnapshot } from "../actors/supervisor";
import type { HealthCheck } from "../lib/health/readiness";
import { DependencyWatch } from "../lib/monitors/health-dependency-watch";
import { SupervisionWatch } from "../lib/monitors/health-supervision-watch";
import { nodeReadiness } from "../mixins/node-readiness";
import { emitAlert } from "../mixins/emit-alert";
import type { NodeRuntime } from "../mixins/node-runtime";

/** What `health-monitor.status` answers: the last sample and what is raised now. */
export interface HealthMonitorStatus {
  nodeID: string;
  intervalMs: number;
  /** ISO time of the last sample; undefined before the first. */
  checkedAt: string | undefined;
  checks: Record<string, HealthCheck>;
  /** Dependencies down (raised, not resolved). */
  down: string[];
}

interface State {
  dependencies: DependencyWatch | undefined;
  supervision: SupervisionWatch | undefined;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  last: { at: number; checks: Record<string, HealthCheck> } | undefined;
}


/** A promise that rejects after `ms`: a dependency that hangs must not stall the monitor. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function localTree(broker: ServiceBroker): Promise<SupervisorSnapshot | null> {
  if (!broker.getLocalService("supervisor")) return null;
  return broker.call<SupervisorSnapshot | null, Record<string, never>>("supervisor.localTree", {}, { nodeID: broker.nodeID, timeout: 2_000, retries: 0 });
}

/**
 * `health-monitor` runs on every node: every CORE_HEALTH_CHECK_MS it samples
 * the node's readiness checks (NATS, store, Redis, cache, supervision tree:
 * mixins/node-readiness) and its supervision tree, and emits `monitor.alert`
 * when a dependency goes down or comes back, when an actor restarts often or
 * is given up, and when a subtree gives up. The logic is
 * lib/monitors/health-*; this is the glue.
 */
export default function createHealthMonitorActor(runtime: Pick<NodeRuntime, "config" | "store" | "shared">): ActorDefinition[] {
  const intervalMs = runtime.config.healthMonitor.intervalMs;
  // nodeReadiness reads the configuration, the store and the shared state only.
  const readinessOf: NodeRuntime = { ...runtime, actors: [], fatal: () => undefined };
  // A sample that hangs (a store not answering) counts as a failed check, not as silence.
  const sampleTimeoutMs = Math.max(2_000, Math.min(intervalMs, 10_000));

  const sample = async (self: ActorSelf<State>): Promise<void> => {
    let checks: Record<string, HealthCheck>;
    try {
      checks = { ...(await within(sampleTimeoutMs, nodeReadiness(self.broker, readinessOf))), readiness: { ok: true, critical: true, detail: "answered" } };
    } catch (err) {
      checks = { readiness: { ok: false, critical: true, detail: `the readiness checks did not answer: ${(err as Error).message}` } };
    }
    const alerts = self.state.dependencies!.evaluate(checks);
    self.state.last = { at: Date.now(), checks };
    try {
      alerts.push(...self.state.supervision!.evaluate(await localTree(self.broker)));
    } catch (err) {
      self.logger.debug(`Health monitor: the supervision tree did not answer: ${(err as Error).message}`);
    }
    for (const alert of alerts) emitAlert(self, alert);
  };

  const loop = (self: ActorSelf<State>) => {
    if (self.state.stopped) return;
    // One sample at a time: the next is scheduled when this one is done.
    self.state.timer = setTimeout(() => {
      sample(self)
        .catch((err: unknown) => self.logger.warn(`Health monitor: a sample failed: ${(err as Error).message}`))
        .finally(() => loop(self));
    }, intervalMs);
    self.state.timer.unref();
  };

  const monitor = defineActor<State>({
    name: "health-monitor",
    kind: "monitor",
    state: () => ({ dependencies: undefined, supervision: undefined, timer: undefined, stopped: false, last: undefined }),
    started(self) {
      self.state.dependencies = new DependencyWatch({ nodeID: self.nodeID });
      self.state.supervision = new SupervisionWatch({ nodeID: self.nodeID });
      self.logger.info(`Health monitor: checking NATS, store, Redis and the supervision tree every ${intervalMs} ms`);
      loop(self);
    },
    stopped(self) {
      self.state.stopped = true;
      clearTimeout(self.state.timer);
    },
    actions: {
      status: {
        permission: "actors:read",
        handler(_ctx, self): HealthMonitorStatus {
          return {
            nodeID: self.nodeID,
            intervalMs,
            checkedAt: self.state.last ? new Date(self.state.last.at).toISOString() : undefined,
            checks: self.state.last?.checks ?? {},
            down: self.state.dependencies?.down() ?? [],
          };
        },
      },
    },
  });
  return [monitor as unknown as ActorDefinition];
}
