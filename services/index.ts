import type { ActorDefinition } from "../actors/actor-spec";
import type { ServiceFactory } from "../mixins/node-runtime";
import createAggregatorActor from "./aggregator.service";
import createApiService from "./api.service";
import createSupervisorService from "./supervisor.service";

/** The product's services by name, as `core start --services` accepts them. */
export const PRODUCT_SERVICES: Readonly<Record<string, ServiceFactory>> = {
  api: createApiService,
  supervisor: createSupervisorService,
};

/** The product's actors by name: supervised on the node that runs them. */
export const PRODUCT_ACTORS: Readonly<Record<string, () => ActorDefinition>> = {
  aggregator: createAggregatorActor as () => ActorDefinition,
};

/** What `core start` runs when --services is not given. */
export const DEFAULT_SERVICES: readonly string[] = ["api", "supervisor", "aggregator"];
