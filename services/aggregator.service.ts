import type { ServiceBroker } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import { createConsensus, type ConsensusEngine, type ConsensusOptions, type ConsensusResult, type ExpertResponse } from "../lib/consensus";
import type { Logger } from "../lib/logger";

/** Prometheus: core_consensus_duration_seconds{engine}, core_consensus_responses{engine}. */
export const AGGREGATOR_METRICS = {
  duration: "core.consensus.duration.seconds",
  responses: "core.consensus.responses",
} as const;

/** One engine per process: the addon loads once and, when it cannot, the fallback is announced once. */
let shared: ConsensusEngine | undefined;
function engineFor(logger: Logger): ConsensusEngine {
  return (shared ??= createConsensus({ logger }));
}

function registerMetrics(broker: ServiceBroker): void {
  if (!broker.isMetricsEnabled() || broker.metrics.getMetric(AGGREGATOR_METRICS.duration)) return;
  broker.metrics.register({
    name: AGGREGATOR_METRICS.duration,
    type: "histogram",
    labelNames: ["engine"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    description: "Time to compute one consensus, marshalling included",
  });
  broker.metrics.register({
    name: AGGREGATOR_METRICS.responses,
    type: "histogram",
    labelNames: ["engine"],
    buckets: [1, 2, 3, 5, 8, 16, 32, 64, 128, 256],
    description: "Responses per consensus",
  });
}

export interface AggregateResult extends ConsensusResult {
  /** Time the engine took, marshalling included. */
  durationMs: number;
}

/**
 * One consensus computed on this node, as `aggregator.aggregate` answers it
 * (the same engine, result, duration and metrics). The actor calls it; so
 * does a caller that has its responses here and gains nothing from a hop
 * (the OpenAI pass-through's consensus of its one answer).
 */
export async function aggregateHere(
  broker: ServiceBroker,
  logger: Logger,
  responses: readonly ExpertResponse[],
  options?: ConsensusOptions,
): Promise<AggregateResult> {
  const engine = engineFor(logger);
  registerMetrics(broker);
  const started = process.hrtime.bigint();
  // The engine validates what arrived (shape, values, sizes) before anything runs.
  const result = await engine(responses, options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (broker.isMetricsEnabled()) {
    broker.metrics.observe(AGGREGATOR_METRICS.duration, seconds, { engine: result.engine });
    broker.metrics.observe(AGGREGATOR_METRICS.responses, result.experts.length, { engine: result.engine });
  }
  return { ...result, durationMs: seconds * 1000 };
}

/**
 * `aggregator.aggregate { responses: [{ expertId, text, weight?, confidence? }], options? }`:
 * the consensus of the experts' responses, computed by the native engine off
 * the event loop. Bad input answers VALIDATION_FAILED (422) or
 * PAYLOAD_TOO_LARGE (413) with what to fix.
 */
export default function createAggregatorActor(): ActorDefinition<undefined> {
  return defineActor({
    name: "aggregator",
    kind: "aggregator",
    started(self) {
      engineFor(self.logger);
      registerMetrics(self.broker);
    },
    actions: {
      aggregate: {
        handler(ctx, self): Promise<AggregateResult> {
          return aggregateHere(self.broker, self.logger, ctx.params.responses as readonly ExpertResponse[], ctx.params.options as ConsensusOptions | undefined);
        },
      },
    },
  });
}
