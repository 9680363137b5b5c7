import type { ServiceSchema } from "moleculer";
import type { CoreConfig } from "../config";
import type { ActorDefinition } from "../actors/actor-spec";
import type { SharedStore } from "../lib/coordination/shared-store";
import type { Store } from "../lib/store";

/** What a node hands to the services it runs: its configuration and its store. */
export interface NodeRuntime {
  config: CoreConfig;
  /** Undefined on a node that runs no service needing the database (e.g. a REPL client). */
  store: Store | undefined;
  /** State shared by the cluster's nodes (Redis; this process's memory when embedded): caches, locks, budget counters. */
  shared: SharedStore | undefined;
  /** The actors this node supervises (from --services). */
  actors: readonly ActorDefinition[];
  /** Stops the node for good, with a clear reason and a non-zero exit (the supervision root gave up). */
  fatal(reason: string): void;
}

/**
 * Makes a product's actors from the node's configuration and store; called
 * after the store opened, before the broker starts. May throw ConfigError.
 */
export type ActorFactory = (runtime: Pick<NodeRuntime, "config" | "store" | "shared">) => ActorDefinition[];

/** A product service file default-exports one of these. */
export type ServiceFactory = (runtime: NodeRuntime) => ServiceSchema;
