/**
 * CORE's package entry point. Later capabilities add `consensus` and
 * `consensusReference` here (DESIGN.md §11).
 */
export { startNode, type CoreNode, type StartNodeOptions } from "./node";
export { loadConfig, type CoreConfig } from "./config";
export * from "./lib/errors";
export { defineActor, type ActorSpec, type ActorDefinition, type ActorSelf } from "./actors/actor-spec";
