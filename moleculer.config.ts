import type { BrokerOptions } from "moleculer";
import type { CoreConfig } from "./config";
import { CoreErrorRegenerator } from "./mixins/error-regenerator";
import { AccessControlMiddleware } from "./mixins/access-control.middleware";
import { DrainMiddleware } from "./mixins/drain.middleware";
import { LoadSheddingMiddleware } from "./mixins/load-shedding.middleware";
import { AccessPolicy } from "./lib/security/access-policy";
import { breakerOptions, ResilienceMiddleware } from "./mixins/resilience.middleware";
import { redactingLogger } from "./mixins/redacting-logger";
import { RequestMetricsMiddleware } from "./mixins/request-metrics.middleware";
import { ResilientRedisCacher } from "./mixins/resilient-redis-cacher";
import { toCoreError } from "./mixins/to-core-error";
import { TraceContextMiddleware } from "./mixins/trace-context";
import { tracingOptions } from "./mixins/tracing-options";
import { newTraceId } from "./lib/tracing/trace-id";
import { CoreNatsTransporter } from "./lib/transport/core-nats-transporter";
import { RESILIENCE_POLICIES } from "./config/resilience-policies";

/**
 * The serializer for the cluster when CORE_SERIALIZER is unset. Chosen by
 * `npm run bench` (benchmarks/serializers.ts): see the README for the numbers.
 */
export const CLUSTER_SERIALIZER = "JSON" as const;

/** How long a node waits for more service changes before telling the cluster (Moleculer's default: 1000 ms). */
export const SERVICE_CHANGED_DEBOUNCE_MS = 100;

/** Broker options for one node, derived from its configuration only. */
export function createBrokerOptions(config: CoreConfig): BrokerOptions {
  // CORE_REQUEST_TIMEOUT is the deadline of a call to a kind without a policy of its own.
  const policies = { ...RESILIENCE_POLICIES, default: { ...RESILIENCE_POLICIES.default!, timeoutMs: config.requestTimeoutMs } };
  return {
    namespace: config.namespace,
    nodeID: config.nodeId,
    // Every argument of every log line passes through the redactor (mixins/redacting-logger).
    logger: redactingLogger({
      level: config.log.level,
      formatter: config.log.format,
      colors: process.stdout.isTTY === true,
      moduleColors: false,
      autoPadding: false,
    }),
    // Moleculer's NATS transporter, its writes gathered (lib/transport/gathered-writes).
    transporter: config.nats ? new CoreNatsTransporter({ url: config.nats.url, name: config.nodeId }) : null,
    serializer: config.serializer ?? CLUSTER_SERIALIZER,
    cacher: config.redis
      ? new ResilientRedisCacher(config.redis.url, config.redis.prefix)
      : { type: "MemoryLRU", options: { max: 10_000, ttl: 3600 } },
    requestTimeout: config.requestTimeoutMs,
    heartbeatInterval: config.heartbeat.intervalSec,
    heartbeatTimeout: config.heartbeat.timeoutSec,
    // Moleculer tells the other nodes about a service that started (an actor restarted or taken
    // over) only after 1 s without another change; 100 ms still coalesces a node's start-up burst
    // and puts a moved singleton in the callers' registries 0.9 s sooner (test/e2e/failover).
    // (`serviceChangedDebounceTime` is missing from Moleculer's typings of the transit options.)
    transit: { serviceChangedDebounceTime: SERVICE_CHANGED_DEBOUNCE_MS } as BrokerOptions["transit"],
    // Graceful shutdown is CoreDrain's (below): Moleculer's tracker is off, being O(n) per call.
    tracking: { enabled: false, shutdownTimeout: config.shutdownTimeoutMs },
    registry: { strategy: "RoundRobin", preferLocal: true },
    errorRegenerator: new CoreErrorRegenerator(),
    // Deadlines and retries (retryable errors only, jittered backoff, never past the deadline).
    // and graceful shutdown: a stopping node waits for the calls it is handling.
    // RBAC: whatever the entry point, a call carrying a principal is checked where it runs.
    // Under memory pressure (the memory monitor's critical level) new consults are refused at once, after the RBAC check.
    middlewares: [
      ResilienceMiddleware(policies),
      DrainMiddleware(config.shutdownTimeoutMs),
      LoadSheddingMiddleware(),
      AccessControlMiddleware(new AccessPolicy(config.roles)),
      // Wraps nothing itself: swaps Moleculer's per-call request metrics for ones that resolve each series once.
      ...(config.metrics.enabled ? [RequestMetricsMiddleware()] : []),
      // Last, so outermost of these: log lines of a call carry its trace id (mixins/trace-context;
      // CORE_LOG_TRACE_IDS, by default on with tracing or debug logs: it costs ~0.4 µs of CPU a call).
      ...(config.log.traceIds ? [TraceContextMiddleware()] : []),
    ],
    // Per endpoint on the caller's side: an open breaker routes calls to the other nodes running the actor.
    circuitBreaker: {
      enabled: true,
      ...breakerOptions(policies.default),
      check: (err: Error) => toCoreError(err).status >= 500,
    },
    metrics: config.metrics.enabled
      ? {
          enabled: true,
          // Moleculer's own request-time histograms ask for quantiles, which it keeps by holding every
          // observation of the last minute (per action) and sorting them at each scrape; Prometheus
          // computes quantiles from the buckets (histogram_quantile), so the histograms keep buckets only
          // (null turns them off: an empty list would still keep the window; the typings omit null).
          defaultQuantiles: null as unknown as number[],
          reporter: [
            {
              type: "Prometheus",
              options: { port: config.metrics.port, host: config.host, path: "/metrics", defaultLabels: () => ({ namespace: config.namespace, nodeID: config.nodeId }) },
            },
          ],
        }
      : { enabled: false },
    tracing: tracingOptions(config),
    // Every context id, hence every trace id (a request's first context's), is 32 hex digits: the id
    // clients read in X-Trace-Id / Core-Trace-Id and in log lines is the one Jaeger shows.
    uidGenerator: newTraceId,
    // CORE's node owns SIGINT/SIGTERM: it drains, closes the store, then exits 0.
    skipProcessEventRegistration: true,
    validator: true,
  };
}
