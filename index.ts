/** CORE's package entry point (DESIGN.md §11). */
export { startNode, type CoreNode, type StartNodeOptions } from "./node";
export { loadConfig, type CoreConfig } from "./config";
export * from "./lib/errors";
export { defineActor, type ActorSpec, type ActorDefinition, type ActorSelf } from "./actors/actor-spec";
export {
  consensus,
  consensusReference,
  createConsensus,
  type ConsensusEngine,
  type ConsensusOptions,
  type ConsensusResult,
  type ExpertResponse,
  type FinalAnswer,
} from "./lib/consensus";
