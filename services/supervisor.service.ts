import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { actorsOf, rootSpec, type ActorInfo } from "../actors/actor-tree";
import { singletonChild } from "../actors/singleton";
import { Supervisor, type SupervisorEvent, type SupervisorSnapshot } from "../actors/supervisor";
import { MemoryLeaseStore, type LeaseStore } from "../lib/lease/lease-store";
import { NatsKvLeaseStore } from "../lib/lease/nats-kv-lease-store";
import { natsServers } from "../lib/transport/nats-connection";
import { ActorNotFoundError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { actorChild } from "../mixins/actor-child";
import { ActorMetrics } from "../mixins/actor-metrics";
import type { ActorIncarnation } from "../mixins/actor-service";
import type { NodeRuntime } from "../mixins/node-runtime";
import { requires } from "../mixins/action-permission";

interface NodeTree {
  nodeID: string;
  tree?: SupervisorSnapshot | undefined;
  error?: string;
}

type Self = { broker: ServiceBroker; logger: Logger };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Nodes that run a supervisor, now. */
function supervisorNodes(broker: ServiceBroker): string[] {
  return broker.registry
    .getServiceList({ onlyAvailable: true })
    .filter((s: { name: string }) => s.name === "supervisor")
    .map((s: { nodeID?: string }) => s.nodeID!)
    .sort();
}

/**
 * Singleton leases live in NATS KV, with the heartbeat timeout as their TTL: a
 * dead holder's singleton moves within about that time. Embedded, the only
 * node holds every lease.
 */
async function openLeaseStore(runtime: NodeRuntime): Promise<LeaseStore> {
  const { config } = runtime;
  const ttlMs = config.heartbeat.timeoutSec * 1000;
  if (!config.nats) return new MemoryLeaseStore(ttlMs);
  return NatsKvLeaseStore.open({
    servers: natsServers(config.nats.url),
    bucket: `${config.namespace.replace(/[^A-Za-z0-9_-]/g, "_")}_leases`,
    ttlMs,
    name: `${config.nodeId}-leases`,
  });
}

/**
 * The node's supervision tree (`root` → experts, mcp, monitors, actors) and
 * the cluster-wide view of it. Thin: the semantics live in actors/supervisor.
 */
export default function createSupervisorService(runtime: NodeRuntime): ServiceSchema {
  let root: Supervisor | undefined;
  let leases: LeaseStore | undefined;
  const incarnations = new Map<string, ActorIncarnation>();

  const mailboxOf = (name: string) => {
    const inc = incarnations.get(name);
    return inc ? { depth: inc.mailbox.depth, running: inc.mailbox.running, ...inc.mailbox.bounds } : undefined;
  };

  /** Calls `action` on every node with a supervisor; a node that fails to answer is reported, not dropped. */
  async function gather<T>(ctx: Context, action: string): Promise<Array<{ nodeID: string; result?: T; error?: string }>> {
    const nodes = supervisorNodes(ctx.broker);
    return Promise.all(
      nodes.map(async (nodeID) => {
        try {
          return { nodeID, result: (await ctx.call(action, {}, { nodeID, timeout: 5_000, retries: 0 })) as T };
        } catch (err) {
          return { nodeID, error: message(err) };
        }
      }),
    );
  }

  return {
    name: "supervisor",
    actions: {
      tree: requires("actors:read", {
        async handler(ctx: Context): Promise<NodeTree[]> {
          const answers = await gather<SupervisorSnapshot | null>(ctx, "supervisor.localTree");
          return answers.map((a) => (a.error ? { nodeID: a.nodeID, error: a.error } : { nodeID: a.nodeID, tree: a.result ?? undefined }));
        },
      }),
      actors: requires("actors:read", {
        async handler(ctx: Context): Promise<{ actors: ActorInfo[]; unreachable: Array<{ nodeID: string; error: string }> }> {
          const answers = await gather<ActorInfo[]>(ctx, "supervisor.localActors");
          return {
            actors: answers.flatMap((a) => a.result ?? []).sort((x, y) => x.name.localeCompare(y.name) || x.nodeID.localeCompare(y.nodeID)),
            unreachable: answers.filter((a) => a.error).map((a) => ({ nodeID: a.nodeID, error: a.error! })),
          };
        },
      }),
      restart: requires("actors:restart", {
        params: { actor: { type: "string", min: 1 }, nodeID: { type: "string", optional: true } },
        async handler(ctx: Context<{ actor: string; nodeID?: string }>) {
          const { actor, nodeID } = ctx.params;
          const answers = await gather<ActorInfo[]>(ctx, "supervisor.localActors");
          const targets = answers
            .filter((a) => (!nodeID || a.nodeID === nodeID) && (a.result ?? []).some((info) => info.name === actor))
            .map((a) => a.nodeID);
          if (targets.length === 0) {
            throw new ActorNotFoundError(`No live node runs an actor named ${actor}${nodeID ? ` on node ${nodeID}` : ""}`, { data: { actor, nodeID } });
          }
          await Promise.all(targets.map((target) => ctx.call("supervisor.localRestart", { actor }, { nodeID: target })));
          return { actor, restartedOn: targets };
        },
      }),
      localTree: {
        visibility: "public",
        handler: () => root?.snapshot() ?? null,
      },
      localActors: {
        visibility: "public",
        handler(this: Self) {
          return root ? actorsOf(this.broker.nodeID, root.snapshot(), mailboxOf) : [];
        },
      },
      localRestart: {
        visibility: "public",
        params: { actor: { type: "string", min: 1 } },
        async handler(ctx: Context<{ actor: string }>) {
          const name = ctx.params.actor;
          if (!root || !runtime.actors.some((a) => a.name === name) || !root.contains(name)) {
            throw new ActorNotFoundError(`This node runs no actor named ${name}`, { data: { actor: name } });
          }
          await root.restartChild(name);
          return { actor: name };
        },
      },
    },

    async started(this: Self) {
      const metrics = ActorMetrics.for(this.broker);
      const broker = this.broker;
      const logger = this.logger;
      const startedBefore = new Set<string>();
      const onEvent = (event: SupervisorEvent) => {
        const name = event.path.at(-1)!;
        const where = event.path.join("/");
        switch (event.type) {
          case "started":
            void broker.broadcast(startedBefore.has(where) ? "actor.restarted" : "actor.started", { actor: name, nodeID: broker.nodeID });
            startedBefore.add(where);
            break;
          case "exited":
            if (event.reason.kind === "crash") {
              logger.warn(`Actor ${where} crashed: ${message(event.reason.error)}`);
              void broker.broadcast("actor.crashed", { actor: name, nodeID: broker.nodeID, error: message(event.reason.error) });
            }
            break;
          case "start_failed":
            logger.warn(`Actor ${where} failed to start: ${message(event.error)}`);
            void broker.broadcast("actor.crashed", { actor: name, nodeID: broker.nodeID, error: message(event.error) });
            break;
          case "restarting":
            metrics.restarted(name);
            logger.info(`Restarting ${where} in ${event.delayMs} ms (restart ${event.restarts})`);
            break;
          case "shutdown_timeout":
            logger.warn(`Actor ${where} did not stop within ${event.timeoutMs} ms; dropped`);
            break;
          case "escalated":
            logger.error(`Supervisor ${where} gave up: ${event.restarts} restarts within ${event.periodMs} ms; escalating`);
            void broker.broadcast("actor.escalated", { supervisor: where, nodeID: broker.nodeID, restarts: event.restarts });
            break;
        }
      };
      if (runtime.actors.some((a) => a.singleton)) leases = await openLeaseStore(runtime);
      const lease = leases;
      root = await Supervisor.start(
        rootSpec(
          runtime.actors,
          (def) =>
            def.singleton && lease
              ? singletonChild(actorChild(broker, def, incarnations), {
                  lease,
                  holder: broker.nodeID,
                  onChange: ({ actor, change }) => logger.info(`Singleton ${actor}: lease ${change} by ${broker.nodeID}`),
                })
              : actorChild(broker, def, incarnations),
          (spec) => Supervisor.child(spec, { onEvent }),
        ),
        { onEvent },
      );
      const tree = root;
      void tree.exited.then((reason) => {
        if (reason.kind === "crash") runtime.fatal(`the supervision root gave up: ${message(reason.error)}`);
      });
    },

    async stopped() {
      await root?.stop();
      await leases?.close();
    },
  };
}
