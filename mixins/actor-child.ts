import type { Service, ServiceBroker, ServiceSchema } from "moleculer";
import type { ActorDefinition } from "../actors/actor-spec";
import type { ChildSpec, ExitReason, RunningChild } from "../actors/supervisor";
import { UnavailableError } from "../lib/errors";
import { actorServiceSchema, type ActorIncarnation } from "./actor-service";

type StartableService = Service & { _start(): Promise<void> };
type ServiceFactory = new (broker: ServiceBroker, schema: ServiceSchema) => StartableService;

/**
 * The supervisor's handle on an actor: each start creates a fresh Moleculer
 * service (fresh mailbox and state) and awaits its start, so a failing start
 * reaches the supervisor. (`broker.createService` after the broker started
 * would start it in the background and only log the failure.)
 */
export function actorChild(broker: ServiceBroker, def: ActorDefinition, current: Map<string, ActorIncarnation>): ChildSpec {
  return {
    id: def.name,
    kind: "worker",
    restart: def.restart,
    shutdownMs: def.shutdownMs,
    async start(): Promise<RunningChild> {
      let resolveExit!: (reason: ExitReason) => void;
      const exited = new Promise<ExitReason>((resolve) => (resolveExit = resolve));
      const holder: { service?: StartableService } = {};
      const { schema, incarnation } = actorServiceSchema(def, {
        onCrash: (error) => {
          // A crashed incarnation leaves the registry before its supervisor starts the next one.
          void (holder.service ? broker.destroyService(holder.service) : Promise.resolve()).catch(() => undefined).then(() => resolveExit({ kind: "crash", error }));
        },
      });
      const Factory = (broker as unknown as { ServiceFactory: ServiceFactory }).ServiceFactory;
      const service = new Factory(broker, schema);
      holder.service = service;
      try {
        await service._start();
      } catch (err) {
        await broker.destroyService(service).catch(() => undefined);
        throw err;
      }
      current.set(def.name, incarnation);
      return {
        exited,
        async stop() {
          await broker.destroyService(service);
        },
        kill() {
          incarnation.running = false;
          incarnation.mailbox.rejectWaiting(new UnavailableError(`${def.name} was killed after its shutdown timeout`));
        },
      };
    },
  };
}
